-- wrk script of bench/ingest.py: POSTs Huawei v1 status callbacks to the URL it is given.
-- Every request carries a unique commandId, `<prefix>-<thread>-<n>` (the prefix is the script's
-- first argument, one per target and round), so the webhook's dedupe never short-circuits.
-- Answers are counted by kind; `done` prints one line `BENCH_JSON {...}` for the driver.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or "run"
  issued, accepted, duplicate, other = 0, 0, 0, 0
  headers = {["Content-Type"] = "application/json"}
end

function request()
  issued = issued + 1
  local body = string.format(
    '{"deviceId":"dev-%d-%d","commandId":"%s-%d-%d",' ..
    '"result":{"resultCode":"SENT","resultDetail":null}}',
    tid, issued % 500, prefix, tid, issued)
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"accepted"', 1, true) then
    accepted = accepted + 1
  elseif status == 200 and string.find(body, '"duplicate"', 1, true) then
    duplicate = duplicate + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local n = {issued = 0, accepted = 0, duplicate = 0, other = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(n) do
      n[name] = n[name] + thread:get(name)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,' ..
    '"mean":%.1f},"issued":%d,"accepted":%d,"duplicate":%d,"other":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, n.issued, n.accepted, n.duplicate, n.other))
end

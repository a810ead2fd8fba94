-- Claim due devices of each platform up to that platform's quota, earliest deadline first (the
-- clock's reconcile claim: each platform's quota is the room its call budget has for background
-- work now, so a backlog is handed out in deadline order at the rate the budget allows). Like
-- claim_due.lua, each claimed device's deadline moves a lease past now.
-- KEYS: due_index
-- ARGV: until_ms, lease_until_ms, scan_limit, ...quotas
-- `quotas` is platform/count pairs; devices of other platforms are passed over. At most
-- `scan_limit` due entries are looked at.
-- Returns a flat {member, deadline, ...}.
local quota, wanted = {}, 0
for i = 4, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  if n > 0 then
    quota[ARGV[i]] = n
    wanted = wanted + n
  end
end
local out = {}
local passed_over, chunk, scanned = 0, 200, 0
while wanted > 0 and scanned < tonumber(ARGV[3]) do
  -- claimed entries leave the range (their lease is past until_ms): what is left in front of
  -- the next chunk is what was passed over
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT',
    passed_over, chunk)
  if #due == 0 then
    break
  end
  for i = 1, #due, 2 do
    scanned = scanned + 1
    local platform = string.match(due[i], '^([^:]+):')
    if platform and (quota[platform] or 0) > 0 then
      quota[platform] = quota[platform] - 1
      wanted = wanted - 1
      redis.call('ZADD', KEYS[1], ARGV[2], due[i])
      out[#out + 1] = due[i]
      out[#out + 1] = due[i + 1]
      if wanted == 0 then
        break
      end
    else
      passed_over = passed_over + 1
    end
  end
end
return out

-- A device's commands, newest first, each as a flat field/value array; optionally one state
-- only.
-- KEYS: device_cmds
-- ARGV: cmd_prefix, limit, state
-- `cmd_prefix` is the device's command key prefix (up to and including ':cmd:'); `state` '' is
-- any state.
local ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
local limit, want = tonumber(ARGV[2]), ARGV[3]
local out = {}
for _, id in ipairs(ids) do
  if #out >= limit then
    break
  end
  local key = ARGV[1] .. id
  local rec = rec_load(key)
  if rec and (want == '' or rec.state == want) then
    out[#out + 1] = rec_flat(key, rec)
  end
end
return out

-- A device's open commands (for reconcile), its PENDING ones with their stale deadlines (for
-- revocation) and the ones it holds back (IoTDA), in one round trip.
-- KEYS: device_quiet, device_stale, device_held
-- ARGV: cmd_prefix
-- `cmd_prefix` is the device's command key prefix (up to and including ':cmd:').
-- Returns {open, pending, held}: open = flat {id, state, created_at, origin, ...},
--                                pending = flat {id, stale_at, ...}, held = {id, ...} oldest
--                                first
local open = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= '*' then
    local f = rec_load(ARGV[1] .. id)
    if f then
      open[#open + 1] = id
      open[#open + 1] = f.state
      open[#open + 1] = f.created_at or ''
      open[#open + 1] = f.origin or ''
    end
  end
end
local pending = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
return {open, pending, redis.call('ZRANGE', KEYS[3], 0, -1)}

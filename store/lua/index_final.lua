-- Put a final command recorded before retention existed on the retention index
-- (store/stats_backfill.py), as the apply script puts the ones it makes final: scored by its
-- last update. A command already indexed, or not final, is left alone.
-- KEYS: cmd, device_final, due_retain
-- ARGV: command_id, device_member
-- Returns 1 when the command was indexed now, 0 otherwise.
local TERMINAL = {SUCCEEDED=true, FAILED=true, TIMEOUT=true, EXPIRED=true, CANCELED=true}
local f = redis.call('HMGET', KEYS[1], 'state', 'updated_at', 'created_at')
if not f[1] or not TERMINAL[f[1]] then
  return 0
end
local at = f[2] or f[3] or '0'
if redis.call('ZADD', KEYS[2], 'NX', at, ARGV[1]) == 0 then
  return 0
end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[3], first[2], ARGV[2])
return 1

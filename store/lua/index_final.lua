-- Put a final command recorded before retention existed on the retention index
-- (store/stats_backfill.py), as the apply script puts the ones it makes final: scored by its
-- last update. A command already indexed, or not final, is left alone.
-- KEYS: cmd, device_final, due_retain
-- ARGV: command_id, device_member
-- Returns 1 when the command was indexed now, 0 otherwise.
local f = rec_load(KEYS[1])
if not f or RANK[f.state] ~= TERMINAL then
  return 0
end
local at = f.updated_at or f.created_at or '0'
if redis.call('ZADD', KEYS[2], 'NX', at, ARGV[1]) == 0 then
  return 0
end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[3], first[2], ARGV[2])
return 1

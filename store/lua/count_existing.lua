-- Count one command recorded before the fleet counts existed (store/stats_backfill.py), exactly
-- as create_command.lua and apply_event.lua count the ones they write; a record already counted
-- (`sc`) is left alone, so running this again, or beside live traffic, counts nothing twice.
-- KEYS: cmd, command_states, pending_by_creation, pending_by_stale_at
-- ARGV: command_id
-- Returns 1 when the command was counted now, 0 otherwise.
local cur = redis.call('HMGET', KEYS[1], 'state', 'sc', 'created_at', 'stale_at')
if not cur[1] or cur[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'sc', 1)
redis.call('HINCRBY', KEYS[2], cur[1], 1)
if cur[1] == 'PENDING' then
  if cur[3] then
    redis.call('ZADD', KEYS[3], cur[3], ARGV[1])
    redis.call('HINCRBY', KEYS[2], 'pending_created_s', math.floor(tonumber(cur[3]) / 1000))
  end
  if cur[4] then
    redis.call('ZADD', KEYS[4], cur[4], ARGV[1])
  end
end
return 1

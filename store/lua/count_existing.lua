-- Count one command recorded before the fleet counts existed (store/stats_backfill.py), exactly
-- as create_command.lua and apply_event.lua count the ones they write; a record already counted
-- (`sc`) is left alone, so running this again, or beside live traffic, counts nothing twice.
-- KEYS: cmd, command_states, pending_by_creation, pending_by_stale_at
-- ARGV: command_id
-- Returns 1 when the command was counted now, 0 otherwise.
local rec = rec_load(KEYS[1])
if not rec or rec.sc then
  return 0
end
local cur = {rec.state, rec.sc, rec.created_at, rec.stale_at}
rec.sc = 1
rec_save(KEYS[1], rec)
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

-- A held-back command was handed to the platform (docs/architecture.md, "The hold-back queue"):
-- from now on it is in flight, the platform's id names it in pushes and history, and it is the
-- platform's to expire (its expire_time is the time it had left before it would be stale), so
-- it leaves the stale index, and its history is re-checked at `reconcile_at_ms` (a quiet
-- deadline, from now) or at `expiry_check_ms` (just after it expires), whichever is first.
-- The timeline notes the handover (source api, the platform's status); the state stays PENDING,
-- so the change feed has nothing to say. One step, so that no push can find the command in
-- flight without its platform id, or the other way round.
-- KEYS: cmd, device_held, device_in_flight, device_platform_ids, device_stale, device_quiet,
--       due_revoke, due_reconcile
-- ARGV: command_id, platform_command_id, platform_status, expire_at_ms, released_at_ms,
--       reconcile_at_ms, expiry_check_ms, entry, max_timeline, device_member
-- `entry` is the timeline entry without its applied flag.
-- Returns 1, or 0 when the record was final already (its platform id is mapped all the same: the
-- platform has the command).
local cmd, held, in_flight, platform_ids, stale, quiet, due_revoke, due_reconcile =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id, platform_id, status, expire_at, released_at = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  ARGV[5]
local check_at = math.min(tonumber(ARGV[6]), tonumber(ARGV[7]))
local entry, max_timeline, member = ARGV[8], tonumber(ARGV[9]), ARGV[10]
redis.call('HSET', platform_ids, platform_id, id)
redis.call('ZREM', held, id)
local rec = rec_load(cmd)
if not rec then
  return 0
end
rec.platform_command_id, rec.released_at = platform_id, released_at
if RANK[rec.state] == TERMINAL then
  rec_save(cmd, rec)
  return 0
end
rec.platform_status, rec.expire_at = status, expire_at
entry = tl_entry(rec, entry)
if not timeline_has(rec.tl, entry) then
  rec.tl = timeline_append(rec.tl, entry .. ',1', max_timeline)
end
rec_save(cmd, rec)
redis.call('SADD', in_flight, id)
redis.call('ZREM', stale, id)
refresh_due(stale, due_revoke, member)
redis.call('ZADD', quiet, 'LT', check_at, id)
refresh_due(quiet, due_reconcile, member)
return 1

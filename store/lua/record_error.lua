-- A platform refused an operation on a command for good: keep the error on the record and stop
-- retrying it (drop it from the stale index).
-- KEYS: cmd, device_stale, due_revoke
-- ARGV: command_id, error_json, now_ms, device_member
local rec = rec_load(KEYS[1])
if rec then
  rec.error, rec.error_at = ARGV[2], ARGV[3]
  rec_save(KEYS[1], rec)
end
redis.call('ZREM', KEYS[2], ARGV[1])
refresh_due(KEYS[2], KEYS[3], ARGV[4])
return 1

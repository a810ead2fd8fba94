-- A platform refused an operation on a command for good: keep the error on the record and stop
-- retrying it (drop it from the stale index).
-- KEYS: cmd, device_stale, due_revoke
-- ARGV: command_id, error_json, now_ms, device_member
redis.call('HSET', KEYS[1], 'error', ARGV[2], 'error_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
refresh_due(KEYS[2], KEYS[3], ARGV[4])
return 1

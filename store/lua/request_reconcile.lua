-- Ask for a reconcile of a device at `at_ms` (or sooner if one is already due earlier).
-- KEYS: device_quiet, due_reconcile
-- ARGV: at_ms, device_member
-- LT adds a missing member too, and only ever moves an existing one earlier.
redis.call('ZADD', KEYS[1], 'LT', ARGV[1], '*')
refresh_due(KEYS[1], KEYS[2], ARGV[2])
return 1

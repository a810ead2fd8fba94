-- Re-point both fleet-wide due indexes at the device's own earliest deadlines (a job calls this
-- when it ends, replacing the lease its claim put there).
-- KEYS: device_quiet, device_stale, due_reconcile, due_revoke
-- ARGV: device_member
refresh_due(KEYS[1], KEYS[3], ARGV[1])
refresh_due(KEYS[2], KEYS[4], ARGV[1])
return 1

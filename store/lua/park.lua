-- The platform refused to cancel these PENDING commands (it sent them meanwhile): take them out
-- of the revocation index until a reconcile has learned their true state, so the next sweeps do
-- not ask again and again. A reconcile that finds one waiting again puts it back.
-- KEYS: device_stale, due_revoke
-- ARGV: device_member, ...command_ids
for i = 2, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
end
refresh_due(KEYS[1], KEYS[2], ARGV[1])
return #ARGV - 1

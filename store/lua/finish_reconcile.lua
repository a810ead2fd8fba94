-- A reconcile of the device is done: drop the explicit request, give every still-open command a
-- fresh quiet deadline (the platform was just asked about it), and re-point both due indexes.
-- KEYS: device_quiet, device_stale, due_reconcile, due_revoke
-- ARGV: next_deadline_ms, device_member
redis.call('ZREM', KEYS[1], '*')
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(members) do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[1], id)
end
refresh_due(KEYS[1], KEYS[3], ARGV[2])
refresh_due(KEYS[2], KEYS[4], ARGV[2])
return #members

-- Claim devices whose deadline falls before `until`: return them with their deadlines, and push
-- each deadline a lease past now, so the next sweep does not hand out the same work while a job
-- is on it. The job re-points the deadline when it ends; if it dies, the lease runs out and the
-- device is claimed again.
-- KEYS: due_index
-- ARGV: until_ms, lease_until_ms, limit
-- Returns a flat {member, deadline, ...}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
  ARGV[3])
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], ARGV[2], due[i])
end
return due

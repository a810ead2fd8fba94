-- Claim devices whose deadline falls before `until`: return them with their deadlines, and push
-- each deadline a lease past now, so the next sweep does not hand out the same work while a job
-- is on it. The job re-points the deadline when it ends; if it dies, the lease runs out and the
-- device is claimed again.
-- With a second key, each claim is also logged there at its deadline (entries older than
-- `forget_before` are dropped): the call budget keeps slots for revocations claimed but not yet
-- run (store/ratelimit.py), which the lease has moved out of the due index's near range.
-- KEYS: due index[, claim log]
-- ARGV: until_ms, lease_until_ms, limit[, forget_before_ms]
-- Returns a flat {member, deadline, ...}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
  ARGV[3])
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], ARGV[2], due[i])
  if KEYS[2] then
    redis.call('ZADD', KEYS[2], due[i + 1], due[i])
  end
end
if KEYS[2] then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
end
return due

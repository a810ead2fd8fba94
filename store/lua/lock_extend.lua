-- Renew a lock (store/locks.py) for `ttl_ms` only if `owner` still holds it.
-- KEYS: lock
-- ARGV: owner, ttl_ms
-- Returns 1 when renewed, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0

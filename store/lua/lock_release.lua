-- Release a lock (store/locks.py) only if `owner` still holds it: a lock that expired and was
-- taken by another owner stays theirs.
-- KEYS: lock
-- ARGV: owner
-- Returns 1 when released, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

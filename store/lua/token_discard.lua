-- Forget a platform app's access token (store/tokens.py) only if it is still `access_token`: a
-- process that saw it refused does not discard the fresh one another process just stored.
-- KEYS: token
-- ARGV: access_token
-- Returns 1 when discarded, 0 otherwise.
if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

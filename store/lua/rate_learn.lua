-- The platform throttled us: learn a lower limit for the budget (store/ratelimit.py), which every
-- process then keeps to for `learned_ttl_ms`.
-- KEYS: rate_window, rate_learned_limit
-- ARGV: now_ms, window_ms, learned_ttl_ms, min_limit
-- Returns the limit learned now (a lower one already learned stays).
local key, now, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
-- the platform's limit is below what this window holds: learn nine tenths of it (never less
-- than a tenth of the configured limit, so another client's burst cannot stall us for long)
local learned = math.max(tonumber(ARGV[4]), math.floor(used * 0.9))
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current == 0 or learned < current then
  redis.call('SET', KEYS[2], learned, 'PX', ARGV[3])
end
return learned

-- Take a slot of a platform's call budget (store/ratelimit.py): a sliding-window log of calls.
-- KEYS: rate_window, rate_learned_limit, pending_by_stale_at, rate_revoke_waiting
-- ARGV: now_ms, window_ms, limit, member, reserve, urgent, waiting_grace_ms, pace_parts,
--       half_budget
-- `limit` is the configured calls per window (a learned lower one wins); `member` is this call's
-- unique entry in the log; `reserve` is slots to leave to more urgent work; `urgent` (1|0) is a
-- revocation, which marks the budget as wanted by it for its wait plus `waiting_grace_ms` when
-- refused; `pace_parts` > 1 paces background work; `half_budget` (1|0) is creation's cap.
-- Returns {1, calls in the window} when a slot was taken, else {0, ms until one may free up}.
local key, now, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, reserve, urgent = tonumber(ARGV[3]), tonumber(ARGV[5]), ARGV[6] == '1'
local learned = tonumber(redis.call('GET', KEYS[2]) or '0')
if learned > 0 and learned < limit then
  limit = learned
end
if not urgent then
  local waiting_until = tonumber(redis.call('GET', KEYS[4]) or '0')
  if waiting_until > now then
    return {0, waiting_until - now}
  end
  local half = math.floor(limit / 2)
  -- commands that go stale within a window may each need a call: keep slots for them
  local upcoming = redis.call('ZCOUNT', KEYS[3], now - window, now + window)
  limit = math.max(1, limit - math.max(reserve, upcoming))
  if ARGV[9] == '1' then
    limit = math.max(1, math.min(limit, half))
  end
  -- paced (background work): at most its share of the limit in any part of the window
  local parts = tonumber(ARGV[8])
  if parts > 1 then
    local part = math.floor(window / parts)
    local since = '(' .. (now - part)
    if redis.call('ZCOUNT', key, since, '+inf') >= math.max(1, math.floor(limit / parts)) then
      local first = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      return {0, math.max(1, tonumber(first[2]) + part - now)}
    end
  end
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, used + 1}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if urgent then
  local hold = math.max(wait, 1) + tonumber(ARGV[7])
  redis.call('SET', KEYS[4], now + hold, 'PX', hold)
end
return {0, wait}

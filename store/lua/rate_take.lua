-- Take a slot of a platform's call budget (store/ratelimit.py): one sliding-window log of all
-- calls, and one per class whose own calls a rule counts (people, creation, background).
-- KEYS: rate_window, rate_people, rate_create, rate_background, rate_learned_limit,
--       pending_by_stale_at, rate_revoke_waiting
-- ARGV: now_ms, window_ms, limit, member, kind, waiting_grace_ms, pace_parts
-- `limit` is the configured calls per window (a learned lower one wins); `member` is this
-- call's unique entry in the logs; `kind` is revoke | user | create | background. The rules,
-- with L the limit, R the slots kept for commands going stale within a window of now, and
-- P = floor(L / 2) people's share:
--   revoke      the window has room (a refused one marks the budget as wanted by revocations
--               for its wait plus `waiting_grace_ms`: meanwhile no other kind takes a slot);
--   user        all calls + R < L;
--   create      as user, and creation's own calls < P;
--   background  all calls + R + (P - people's calls, if positive) < L, and, paced, its own
--               calls in the last 1/pace_parts of the window < (L - P) / pace_parts.
-- Returns {1, calls in the window} when a slot was taken, else {0, ms until one may free up}.
local all, people, create, background = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, kind, parts = tonumber(ARGV[3]), ARGV[5], tonumber(ARGV[7])
local learned = tonumber(redis.call('GET', KEYS[5]) or '0')
if learned > 0 and learned < limit then
  limit = learned
end
for _, log in ipairs({all, people, create, background}) do
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
end
local used = redis.call('ZCARD', all)

-- ms until the oldest entry of `log` leaves the window (a slot of that kind frees up)
local function until_oldest_leaves(log)
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  if not oldest[1] then
    return 1
  end
  return math.max(1, tonumber(oldest[2]) + window - now)
end

local function take(...)
  for _, log in ipairs({all, ...}) do
    redis.call('ZADD', log, now, ARGV[4])
    redis.call('PEXPIRE', log, window)
  end
  return {1, used + 1}
end

if kind == 'revoke' then
  if used < limit then
    return take()
  end
  local wait = until_oldest_leaves(all)
  local hold = wait + tonumber(ARGV[6])
  redis.call('SET', KEYS[7], now + hold, 'PX', hold)
  return {0, wait}
end

local waiting_until = tonumber(redis.call('GET', KEYS[7]) or '0')
if waiting_until > now then
  return {0, waiting_until - now}
end
-- commands that go (or went) stale within a window of now may each need a call to revoke
local reserve = math.min(limit, redis.call('ZCOUNT', KEYS[6], now - window, now + window))
local share = math.floor(limit / 2)

if kind == 'user' or kind == 'create' then
  if kind == 'create' and redis.call('ZCARD', create) >= share then
    return {0, until_oldest_leaves(create)}
  end
  if used + reserve >= limit then
    return {0, until_oldest_leaves(all)}
  end
  if kind == 'create' then
    return take(people, create)
  end
  return take(people)
end

-- background: what revocations and people leave; people's unused share is never lent out
local people_free = math.max(0, share - redis.call('ZCARD', people))
if used + reserve + people_free >= limit then
  return {0, until_oldest_leaves(all)}
end
if parts > 1 then
  local part = math.floor(window / parts)
  local since = '(' .. (now - part)
  local per_part = math.max(1, math.floor((limit - share) / parts))
  if redis.call('ZCOUNT', background, since, '+inf') >= per_part then
    local first = redis.call('ZRANGEBYSCORE', background, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    return {0, math.max(1, tonumber(first[2]) + part - now)}
  end
end
return take(background)

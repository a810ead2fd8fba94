-- How many slots background work could take from a platform's budget now, without taking any
-- (store/ratelimit.py): the clock claims that many due reconciles, so a backlog is handed out
-- in deadline order at the rate the budget allows instead of all at once.
-- KEYS: rate_window, rate_people, rate_background, rate_learned_limit, pending_by_stale_at,
--       rate_revoke_waiting
-- ARGV: now_ms, window_ms, limit, pace_parts
-- The same rules as background in rate_take.lua. Returns the number of slots (0 or more).
local all, people, background = KEYS[1], KEYS[2], KEYS[3]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, parts = tonumber(ARGV[3]), tonumber(ARGV[4])
local learned = tonumber(redis.call('GET', KEYS[4]) or '0')
if learned > 0 and learned < limit then
  limit = learned
end
if tonumber(redis.call('GET', KEYS[6]) or '0') > now then
  return 0
end
local since_window = '(' .. (now - window)
local used = redis.call('ZCOUNT', all, since_window, '+inf')
local reserve = math.min(limit, redis.call('ZCOUNT', KEYS[5], now - window, now + window))
local share = math.floor(limit / 2)
local people_free = math.max(0, share - redis.call('ZCOUNT', people, since_window, '+inf'))
local room = limit - used - reserve - people_free
if parts > 1 then
  local part = math.floor(window / parts)
  local per_part = math.max(1, math.floor((limit - share) / parts))
  room = math.min(room, per_part - redis.call('ZCOUNT', background, '(' .. (now - part), '+inf'))
end
return math.max(0, room)

-- Forget the change feed's events applied before `before_ms`, and remember the newest one
-- forgotten: a reader asking for events after an older id is told they are gone
-- (store/feed.py).
-- KEYS: events, events_trimmed
-- ARGV: before_ms
-- Returns how many events were removed.
local threshold = ARGV[1] .. '-0'
local last_removed = redis.call('XREVRANGE', KEYS[1], '(' .. threshold, '-', 'COUNT', 1)[1]
if not last_removed then
  return 0
end
local removed = redis.call('XTRIM', KEYS[1], 'MINID', threshold)
redis.call('SET', KEYS[2], last_removed[1])
return removed

-- A subscriber took an event (or the subscription skips it, not being for its platform): move
-- the subscription's cursor past it, if the cursor is still where the delivery began (a replay
-- or an enable meanwhile wins), and note on the event's command when the subscriber took it.
-- KEYS: subscription, deliveries
-- ARGV: expected_cursor, cursor, cursor_n, now_ms, command_id, entry, ttl_ms
-- `entry` is `<subscription>,<state>,<attempt>,<now_ms>`; '' for a skipped event (nothing is
-- noted and the health fields stay). `deliveries` expires with the feed's retention.
-- Returns 1 when the cursor moved, 0 when it had moved meanwhile.
local MAX_PER_COMMAND = 16
if redis.call('HGET', KEYS[1], 'cursor') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'cursor', ARGV[2], 'cursor_n', ARGV[3])
if ARGV[6] == '' then
  return 1
end
redis.call('HINCRBY', KEYS[1], 'delivered', 1)
redis.call('HSET', KEYS[1], 'last_delivered_at', ARGV[4], 'attempts', 0)
redis.call('HDEL', KEYS[1], 'failing_since', 'next_attempt_at', 'last_error')
local taken = redis.call('HGET', KEYS[2], ARGV[5])
local items = {}
if taken then
  for item in string.gmatch(taken, '[^;]+') do
    items[#items + 1] = item
  end
end
items[#items + 1] = ARGV[6]
while #items > MAX_PER_COMMAND do
  table.remove(items, 1)
end
redis.call('HSET', KEYS[2], ARGV[5], table.concat(items, ';'))
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 1

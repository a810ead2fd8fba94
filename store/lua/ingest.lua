-- The webhook's one round trip: for each event, drop it if the same report was accepted within
-- the dedupe window, else put its message on the dramatiq queue (exactly as dramatiq's own
-- enqueue does: message data into the queue's hash, its id onto the queue's list). Then, for
-- each device that showed signs of being awake, ask for a reconcile at `hint_at` (or sooner).
-- An event with an empty message id is only marked: with the RabbitMQ broker the web publishes
-- its message itself, and deletes the mark again if RabbitMQ does not take it.
-- KEYS: queue_messages, queue, due_reconcile, ...dedupe_keys, ...device_quiets
-- ARGV: dedupe_ttl_s, #dedupe_keys, ...messages, hint_at_ms, ...device_members
-- One dedupe key and one message (message_id, message_data) per event; one device_quiet key and
-- one device member per hint.
-- Returns one flag per event: 1 enqueued (or marked), 0 duplicate.
local n = tonumber(ARGV[2])
local out = {}
for i = 1, n do
  local j = 3 + (i - 1) * 2
  if redis.call('SET', KEYS[3 + i], '1', 'NX', 'EX', ARGV[1]) then
    if ARGV[j] ~= '' then
      redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1])
      redis.call('RPUSH', KEYS[2], ARGV[j])
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
local hint_at = ARGV[3 + 2 * n]
for h = 1, #KEYS - 3 - n do
  local quiet = KEYS[3 + n + h]
  redis.call('ZADD', quiet, 'LT', hint_at, '*')
  local first = redis.call('ZRANGE', quiet, 0, 0, 'WITHSCORES')
  redis.call('ZADD', KEYS[3], first[2], ARGV[3 + 2 * n + h])
end
return out

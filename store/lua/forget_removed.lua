-- Retention: forget the tombstones of commands removed before `before_ms` (the command ->
-- device index entries `~<removed_at>` that let a GET say "removed"); a live entry (the id was
-- used again) is left alone.
-- KEYS: removed, ...index_keys
-- ARGV: ...members
-- `members[i]` is `<platform>:<command_id>` and `index_keys[i]` its index bucket.
-- Returns how many tombstones were forgotten.
local count = 0
for i = 1, #ARGV do
  local member, index = ARGV[i], KEYS[1 + i]
  local id = string.sub(member, string.find(member, ':', 1, true) + 1)
  local value = redis.call('HGET', index, id)
  if value and string.sub(value, 1, 1) == '~' then
    redis.call('HDEL', index, id)
    count = count + 1
  end
  redis.call('ZREM', KEYS[1], member)
end
return count

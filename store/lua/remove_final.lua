-- Retention: remove final commands of one device that became final before `cutoff_ms`, with
-- every index entry that names them, and leave a tombstone (`~<now_ms>`) in the command ->
-- device index so that a GET can say the command was removed (store/retention.py).
-- KEYS: device_final, due_retain, device_cmds, command_states, removed, deliveries,
--       device_platform_ids, ...cmd_keys, ...index_keys
-- ARGV: #cmd_keys, device_member, cutoff_ms, now_ms, platform, ...command_ids
-- `cmd_keys[i]` and `index_keys[i]` are the record and the index bucket of `command_ids[i]`;
-- `device_platform_ids` maps platform ids to records named by cmdkeeper (IoTDA): a removed
-- record's entry goes too.
-- Returns how many commands were removed.
local final, due_retain, cmds, states, removed, deliveries, platform_ids = KEYS[1], KEYS[2],
  KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local n = tonumber(ARGV[1])
local member, cutoff, now, platform = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local count = 0
for i = 1, n do
  local id, cmd, index = ARGV[5 + i], KEYS[7 + i], KEYS[7 + n + i]
  local at = redis.call('ZSCORE', final, id)
  if at and tonumber(at) <= cutoff then
    local rec = rec_load(cmd)
    if rec and rec.state and RANK[rec.state] == 4 then
      redis.call('DEL', cmd)
      if rec.platform_command_id then
        redis.call('HDEL', platform_ids, rec.platform_command_id)
      end
      if rec.sc then
        redis.call('HINCRBY', states, rec.state, -1)
      end
      redis.call('HSET', index, id, '~' .. now)
      redis.call('ZADD', removed, now, platform .. ':' .. id)
      redis.call('ZREM', cmds, id)
      redis.call('HDEL', deliveries, id)
      count = count + 1
    end
    redis.call('ZREM', final, id)
  end
end
local first = redis.call('ZRANGE', final, 0, 0, 'WITHSCORES')
if first[1] then
  redis.call('ZADD', due_retain, first[2], member)
else
  redis.call('ZREM', due_retain, member)
end
return count

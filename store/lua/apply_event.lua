-- Apply one status event to a command, atomically (docs/architecture.md, "The command model").
-- KEYS: cmd, device_cmds, device_stale, device_quiet, due_revoke, due_reconcile, cmd_index,
--       command_states, pending_by_creation, pending_by_stale_at, events, events_seq,
--       device_final, due_retain
-- ARGV: platform, device_id, command_id, state, entry, attempt, platform_status, now_ms,
--       reconcile_after_ms, device_member, max_timeline, request_reconcile, at_ms, source, ...fill
-- `command_states`, `pending_by_*` are the platform's fleet counts; `events` (and its counter
-- `events_seq`) the change feed, which gets one event per change of state, in this same step;
-- `device_final` / `due_retain` the retention index of final commands. `state` is '' for a
-- status cmdkeeper does not know; `entry` is the timeline entry, '{a}' standing for the
-- attempt; `attempt` -1 means the command's current attempt; `fill` is field/value pairs that
-- fill in fields the record lacks (never overwrite).
-- Returns {outcome, state, was_stale}: outcome is created | moved | late | duplicate |
-- unchanged | unknown; was_stale is 1 when a PENDING command past its stale deadline moved.
local cmd, cmds, stale, quiet, due_revoke, due_reconcile, cmd_index =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local states, by_created, by_stale = KEYS[8], KEYS[9], KEYS[10]
local command_id, state, entry_template = ARGV[3], ARGV[4], ARGV[5]
local attempt = tonumber(ARGV[6])
local platform_status = ARGV[7]
local now = tonumber(ARGV[8])
local reconcile_after = tonumber(ARGV[9])
local member = ARGV[10]
local max_timeline = tonumber(ARGV[11])
local request_reconcile = ARGV[12] == '1'
local at_ms = ARGV[13]
local source = ARGV[14]
local events, events_seq, device_final, due_retain = KEYS[11], KEYS[12], KEYS[13], KEYS[14]

local function fill_missing()
  for i = 15, #ARGV, 2 do
    redis.call('HSETNX', cmd, ARGV[i], ARGV[i + 1])
  end
end

local cur = redis.call('HMGET', cmd, 'state', 'attempt', 'tl', 'stale_at', 'sc', 'created_at')
if attempt < 0 then
  -- A report that does not say which attempt it is about (OneNET pushes): the current one.
  attempt = tonumber(cur[2] or '0') or 0
end
local entry = (string.gsub(entry_template, '{a}', tostring(attempt), 1))
if state == '' then
  -- A status cmdkeeper's vocabulary lacks: kept as not applied (a word we cannot read moves
  -- nothing), and the device's history is asked what became of its commands. A command never
  -- seen gets no record: history will bring it, with a state.
  if cur[1] and not timeline_has(cur[3], entry) then
    redis.call('HSET', cmd, 'tl', timeline_append(cur[3], entry .. ',0', max_timeline))
  end
  redis.call('ZADD', quiet, 'LT', now, '*')
  refresh_due(quiet, due_reconcile, member)
  return {'unknown', cur[1] or ''}
end
if not cur[1] then
  -- A command we never saw: record what we know and ask history for the rest.
  redis.call('HSET', cmd, 'platform', ARGV[1], 'device_id', ARGV[2], 'command_id', command_id,
    'state', state, 'platform_status', platform_status, 'attempt', attempt,
    'created_at', at_ms, 'updated_at', now, 'tl', entry .. ',1', 'origin', 'unknown', 'sc', 1)
  fill_missing()
  redis.call('HINCRBY', states, state, 1)
  track_pending(states, by_created, by_stale, command_id, state, at_ms, nil)
  redis.call('ZADD', cmds, at_ms, command_id)
  redis.call('HSET', cmd_index, command_id, ARGV[2])
  if RANK[state] < TERMINAL then
    redis.call('ZADD', quiet, now + reconcile_after, command_id)
  end
  if request_reconcile then
    redis.call('ZADD', quiet, now, '*')
  end
  refresh_due(quiet, due_reconcile, member)
  if RANK[state] == TERMINAL then
    track_final(device_final, due_retain, member, command_id, now)
  end
  feed_append(events, events_seq, now, ARGV[1], ARGV[2], command_id, state, nil, platform_status,
    source, 'unknown', attempt, at_ms)
  return {'created', state}
end

local cur_state, tl = cur[1], cur[3]
local cur_attempt = tonumber(cur[2] or '0') or 0
if not cur[5] then
  -- recorded before the fleet counts existed (`sc` marks a counted record): counted from now on,
  -- in its present state, so a count is never decremented for a command it never had
  redis.call('HSET', cmd, 'sc', 1)
  redis.call('HINCRBY', states, cur_state, 1)
  track_pending(states, by_created, by_stale, command_id, cur_state, cur[6], cur[4])
end
fill_missing()
if not request_reconcile and state == cur_state and attempt == cur_attempt then
  -- History confirms what we know: no timeline noise, but it counts as news.
  if RANK[cur_state] < TERMINAL then
    redis.call('ZADD', quiet, now + reconcile_after, command_id)
    refresh_due(quiet, due_reconcile, member)
  end
  if state == 'PENDING' and cur[4] and not redis.call('ZSCORE', stale, command_id) then
    -- a command parked after a refused cancel that is still waiting: revocable again
    redis.call('ZADD', stale, cur[4], command_id)
    refresh_due(stale, due_revoke, member)
  end
  return {'unchanged', cur_state}
end
if timeline_has(tl, entry) then
  -- The same event again (a redelivered message): nothing to do.
  return {'duplicate', cur_state}
end

local moved = RANK[cur_state] < TERMINAL and
  (attempt > cur_attempt or (attempt == cur_attempt and RANK[state] > RANK[cur_state]))

redis.call('HSET', cmd, 'tl', timeline_append(tl, entry .. (moved and ',1' or ',0'), max_timeline))
if not moved then
  return {'late', cur_state}
end

redis.call('HSET', cmd, 'state', state, 'platform_status', platform_status, 'attempt', attempt,
  'updated_at', now)
if state ~= cur_state then
  redis.call('HINCRBY', states, cur_state, -1)
  redis.call('HINCRBY', states, state, 1)
end
track_pending(states, by_created, by_stale, command_id, state, cur[6], cur[4])
local was_stale = cur_state == 'PENDING' and cur[4] and tonumber(cur[4]) <= now and 1 or 0
if state == 'PENDING' and cur[4] then
  -- A retried OneNET command waits again and is revocable again, by its original deadline.
  redis.call('ZADD', stale, cur[4], command_id)
else
  redis.call('ZREM', stale, command_id)
end
refresh_due(stale, due_revoke, member)
if RANK[state] == TERMINAL then
  redis.call('ZREM', quiet, command_id)
  track_final(device_final, due_retain, member, command_id, now)
else
  redis.call('ZADD', quiet, now + reconcile_after, command_id)
end
refresh_due(quiet, due_reconcile, member)
if state ~= cur_state then
  -- a new attempt in the same state (a OneNET retry still waiting) is no change of state
  feed_append(events, events_seq, now, ARGV[1], ARGV[2], command_id, state, cur_state,
    platform_status, source, redis.call('HGET', cmd, 'origin'), attempt, at_ms)
end
return {'moved', state, was_stale}

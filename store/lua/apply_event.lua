-- Apply one status event to a command, atomically (docs/architecture.md, "The command model").
-- KEYS: cmd, device_cmds, device_stale, device_quiet, due_revoke, due_reconcile, cmd_index,
--       command_states, pending_by_creation, pending_by_stale_at, events, events_seq,
--       device_final, due_retain, device_held, device_in_flight, device_platform_ids,
--       due_release, device_lock
-- ARGV: platform, device_id, command_id, state, entry, attempt, platform_status, now_ms,
--       reconcile_after_ms, device_member, max_timeline, request_reconcile, at_ms, source,
--       cmd_prefix, wait_if_locked, release_at_ms, ...fill
-- `command_states`, `pending_by_*` are the platform's fleet counts; `events` (and its counter
-- `events_seq`) the change feed, which gets one event per change of state, in this same step;
-- `device_final` / `due_retain` the retention index of final commands. `state` is '' for a
-- status cmdkeeper does not know; `entry` is the timeline entry, '{a}' standing for the
-- attempt; `attempt` -1 means the command's current attempt; `fill` is field/value pairs that
-- fill in fields the record lacks (never overwrite).
-- The hold-back queue (docs/architecture.md, "The hold-back queue"): `device_platform_ids`
-- maps a platform's command id to cmdkeeper's record id (`cmd_prefix` .. it is then the
-- record), so a push or history naming IoTDA's id finds the record named by cmdkeeper. A
-- command that becomes final leaves `device_held`; one that leaves `device_in_flight` frees a
-- place on the platform: with commands held, the device goes on `due_release` at
-- `release_at_ms` (the clock's safety net) and the reply says so. `wait_if_locked` is 1 where
-- records are named by cmdkeeper: an event for a command it does not know, while the device's
-- lock is held (a creation or a release is recording its platform id), waits (outcome `wait`)
-- instead of creating a second record for the same command.
-- Returns {outcome, state, was_stale, release}: outcome is created | moved | late | duplicate |
-- unchanged | unknown | wait; was_stale is 1 when a PENDING command past its stale deadline
-- moved; release is 1 when a command handed over by the hold-back queue became final.
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
local held, in_flight, platform_ids, due_release, lock = KEYS[15], KEYS[16], KEYS[17], KEYS[18],
  KEYS[19]
local wait_if_locked, release_at = ARGV[16] == '1', ARGV[17]

local record_id = redis.call('HGET', platform_ids, command_id)
if record_id then
  -- the platform's id of a command whose record cmdkeeper named
  command_id, cmd = record_id, ARGV[15] .. record_id
end

local rec = rec_load(cmd)
local dirty = false

-- fill in fields the record lacks (never overwrite)
local function fill_missing()
  for i = 18, #ARGV, 2 do
    if rec[ARGV[i]] == nil then
      rec[ARGV[i]] = ARGV[i + 1]
      dirty = true
    end
  end
end

-- write the record back if this step changed it
local function save()
  if dirty then
    rec_save(cmd, rec)
  end
end

local cur = {}
if rec then
  cur = {rec.state, rec.attempt, rec.tl, rec.stale_at, rec.sc, rec.created_at}
end
if attempt < 0 then
  -- A report that does not say which attempt it is about (OneNET pushes): the current one.
  attempt = tonumber(cur[2] or '0') or 0
end
local entry = (string.gsub(entry_template, '{a}', tostring(attempt), 1))
if rec then
  entry = tl_entry(rec, entry)
end
if state == '' then
  -- A status cmdkeeper's vocabulary lacks: kept as not applied (a word we cannot read moves
  -- nothing), and the device's history is asked what became of its commands. A command never
  -- seen gets no record: history will bring it, with a state.
  if cur[1] and not timeline_has(cur[3], entry) then
    rec.tl = timeline_append(cur[3], entry .. ',0', max_timeline)
    rec_save(cmd, rec)
  end
  redis.call('ZADD', quiet, 'LT', now, '*')
  refresh_due(quiet, due_reconcile, member)
  return {'unknown', cur[1] or ''}
end
if not cur[1] then
  if wait_if_locked and redis.call('EXISTS', lock) == 1 then
    -- Perhaps the command a creation or release on this device is recording right now: its
    -- platform id is known in a moment. The caller tries again.
    return {'wait', ''}
  end
  -- A command we never saw: record what we know and ask history for the rest.
  rec = {state=state, platform_status=platform_status, attempt=attempt, created_at=at_ms,
    updated_at=now, origin='unknown', sc=1}
  rec.tl = tl_entry(rec, entry) .. ',1'
  fill_missing()
  rec_save(cmd, rec)
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
  rec.sc, dirty = 1, true
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
  if state == 'PENDING' and cur[4] and not redis.call('ZSCORE', stale, command_id)
      and redis.call('SISMEMBER', in_flight, command_id) == 0 then
    -- a command parked after a refused cancel that is still waiting: revocable again (not one
    -- the hold-back queue handed over: the platform expires that one itself)
    redis.call('ZADD', stale, cur[4], command_id)
    refresh_due(stale, due_revoke, member)
  end
  save()
  return {'unchanged', cur_state}
end
if timeline_has(tl, entry) then
  -- The same event again (a redelivered message): nothing to do.
  save()
  return {'duplicate', cur_state}
end

local moved = RANK[cur_state] < TERMINAL and
  (attempt > cur_attempt or (attempt == cur_attempt and RANK[state] > RANK[cur_state]))

rec.tl = timeline_append(tl, entry .. (moved and ',1' or ',0'), max_timeline)
if not moved then
  rec_save(cmd, rec)
  return {'late', cur_state}
end

rec.state, rec.platform_status, rec.attempt, rec.updated_at = state, platform_status, attempt, now
rec_save(cmd, rec)
if state ~= cur_state then
  redis.call('HINCRBY', states, cur_state, -1)
  redis.call('HINCRBY', states, state, 1)
end
track_pending(states, by_created, by_stale, command_id, state, cur[6], cur[4])
local was_stale = cur_state == 'PENDING' and cur[4] and tonumber(cur[4]) <= now and 1 or 0
if state == 'PENDING' and cur[4] and redis.call('SISMEMBER', in_flight, command_id) == 0 then
  -- A retried OneNET command waits again and is revocable again, by its original deadline.
  redis.call('ZADD', stale, cur[4], command_id)
else
  redis.call('ZREM', stale, command_id)
end
refresh_due(stale, due_revoke, member)
local release = 0
if RANK[state] == TERMINAL then
  redis.call('ZREM', quiet, command_id)
  track_final(device_final, due_retain, member, command_id, now)
  redis.call('ZREM', held, command_id)
  if redis.call('SREM', in_flight, command_id) == 1 then
    release = 1
    if redis.call('ZCARD', held) > 0 then
      redis.call('ZADD', due_release, 'LT', release_at, member)
    end
  end
else
  redis.call('ZADD', quiet, now + reconcile_after, command_id)
end
refresh_due(quiet, due_reconcile, member)
if state ~= cur_state then
  -- a new attempt in the same state (a OneNET retry still waiting) is no change of state
  feed_append(events, events_seq, now, ARGV[1], ARGV[2], command_id, state, cur_state,
    platform_status, source, rec.origin, attempt, at_ms)
end
return {'moved', state, was_stale, release}

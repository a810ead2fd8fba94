-- Record a command just created on the platform (state PENDING, source api).
-- A callback may have raced ahead of the platform's answer and created the record already: then
-- the descriptive fields are filled in and the PENDING entry joins the timeline without moving
-- the state.
-- With supersede on, older PENDING commands of the device with the same service and method
-- become stale now and point at the new one (replaced_by / replaces).
-- KEYS: cmd, device_cmds, device_stale, device_quiet, due_revoke, due_reconcile, cmd_index,
--       command_states, pending_by_creation, pending_by_stale_at, events, events_seq,
--       device_final, due_retain, device_held, device_in_flight, device_platform_ids,
--       due_release
-- ARGV: command_id, device_id, created_ms, stale_at_ms, reconcile_at_ms, device_member, entry,
--       max_timeline, supersede, service_id, method, now_ms, cmd_prefix, platform,
--       in_flight_limit, platform_command_id, min_left_ms, release_at_ms, expiry_check_ms,
--       ...record
-- `command_states`, `pending_by_*` are the platform's fleet counts; a new record is also a
-- `created` event on the change feed (`events`, `events_seq`). `device_final`/`due_retain` are
-- the retention index (taken by every write of a command; a created command is not final).
-- `supersede` is 1 or 0; `cmd_prefix` is the device's command key prefix (up to and including
-- ':cmd:'); `record` is field/value pairs.
-- The hold-back queue (docs/architecture.md, "The hold-back queue"), for platforms with
-- `in_flight_limit` > 0 (IoTDA; 0 elsewhere):
-- - without a `platform_command_id` the command is to be held unless the device has room: when
--   fewer than `in_flight_limit` of its commands are in flight and no held one with more than
--   `min_left_ms` left could go first, nothing is recorded and the reply is {'ROOM'} (the
--   caller sends it, then records it with its platform id). Otherwise it is recorded held
--   (`device_held`, in creation order) and on the stale index, not on the quiet one (the
--   platform has nothing of it to re-check); if the device has room in flight all the same
--   (held ones go first), it goes on `due_release` at `release_at_ms`;
-- - with one, it was handed over at once: in flight, its platform id mapped to the record, off
--   the stale index (the platform expires it: cmdkeeper cannot revoke it) and re-checked at
--   `expiry_check_ms` at the latest.
-- Returns {state, replaced command ids...}, or {'ROOM'}.
local cmd, cmds, stale, quiet, due_revoke, due_reconcile, cmd_index =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local states, by_created, by_stale = KEYS[8], KEYS[9], KEYS[10]
local command_id, device_id, created, stale_at, reconcile_at, member, entry =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local max_timeline = tonumber(ARGV[8])
local supersede, service_id, method, now, prefix = ARGV[9] == '1', ARGV[10], ARGV[11], ARGV[12],
  ARGV[13]
local platform = ARGV[14]
local events, events_seq = KEYS[11], KEYS[12]
local held, in_flight, platform_ids, due_release = KEYS[15], KEYS[16], KEYS[17], KEYS[18]
local in_flight_limit, platform_command_id = tonumber(ARGV[15]), ARGV[16]
local min_left, release_at, expiry_check = tonumber(ARGV[17]), ARGV[18], ARGV[19]
local hold = in_flight_limit > 0 and platform_command_id == ''
local handed_over = in_flight_limit > 0 and platform_command_id ~= ''

local fields = {}
for i = 20, #ARGV do
  fields[#fields + 1] = ARGV[i]
end

if hold and redis.call('SCARD', in_flight) < in_flight_limit then
  local ahead = false
  for _, other in ipairs(redis.call('ZRANGE', held, 0, -1)) do
    local other_rec = rec_load(prefix .. other)
    local other_stale = other_rec and other_rec.stale_at
    if other_stale and tonumber(other_stale) > tonumber(now) + min_left then
      ahead = true
      break
    end
  end
  if not ahead then
    return {'ROOM'}
  end
end

local replaced = {}
if supersede then
  for _, other in ipairs(redis.call('ZRANGE', stale, 0, -1)) do
    if other ~= command_id then
      local key = prefix .. other
      local f = rec_load(key) or {}
      if f.service_id == service_id and f.method == method
          and tonumber(f.created_at or '0') <= tonumber(created) then
        f.replaced_by, f.stale_at = command_id, now
        rec_save(key, f)
        redis.call('ZADD', stale, now, other)
        redis.call('ZADD', by_stale, 'XX', now, other)
        replaced[#replaced + 1] = other
      end
    end
  end
  if #replaced > 0 then
    fields[#fields + 1] = 'replaces'
    fields[#fields + 1] = replaced[#replaced]
  end
end

redis.call('ZADD', cmds, created, command_id)
redis.call('HSET', cmd_index, command_id, device_id)
if handed_over then
  redis.call('HSET', platform_ids, platform_command_id, command_id)
end

local rec = rec_load(cmd)
local cur = rec and {rec.state, rec.tl, rec.sc} or {}
if cur[1] then
  if not cur[3] then
    -- recorded before the fleet counts existed: counted from now on, as it is now
    rec.sc = 1
    redis.call('HINCRBY', states, cur[1], 1)
  end
  track_pending(states, by_created, by_stale, command_id, cur[1], created, stale_at)
  for i = 1, #fields, 2 do
    -- the record's status is the newer one a callback brought: keep it
    if fields[i] ~= 'platform_status' or rec.platform_status == nil then
      rec[fields[i]] = fields[i + 1]
    end
  end
  entry = tl_entry(rec, entry)
  rec.created_at, rec.stale_at, rec.origin = created, stale_at, 'api'
  if not timeline_has(cur[2], entry) then
    rec.tl = timeline_append(cur[2], entry .. ',0', max_timeline)
  end
  rec_save(cmd, rec)
  if cur[1] == 'PENDING' and not handed_over then
    redis.call('ZADD', stale, stale_at, command_id)
  end
  if handed_over and RANK[cur[1]] < TERMINAL then
    redis.call('SADD', in_flight, command_id)
  end
  refresh_due(stale, due_revoke, member)
  return {cur[1], unpack(replaced)}
end

rec = {}
for i = 1, #fields, 2 do
  rec[fields[i]] = fields[i + 1]
end
rec.state, rec.attempt, rec.created_at, rec.updated_at = 'PENDING', 0, created, created
rec.stale_at, rec.origin, rec.sc = stale_at, 'api', 1
rec.tl = tl_entry(rec, entry) .. ',1'
rec_save(cmd, rec)
redis.call('HINCRBY', states, 'PENDING', 1)
track_pending(states, by_created, by_stale, command_id, 'PENDING', created, stale_at)
if handed_over then
  redis.call('SADD', in_flight, command_id)
  if tonumber(expiry_check) < tonumber(reconcile_at) then
    reconcile_at = expiry_check
  end
else
  redis.call('ZADD', stale, stale_at, command_id)
end
if hold then
  -- in creation order, which is the order of these calls (creations hold the device's lock):
  -- one after the last held command even in the same millisecond, or on a slower clock
  local order = tonumber(created)
  local last = redis.call('ZRANGE', held, -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) >= order then
    order = tonumber(last[2]) + 1
  end
  redis.call('ZADD', held, order, command_id)
  if redis.call('SCARD', in_flight) < in_flight_limit then
    redis.call('ZADD', due_release, 'LT', release_at, member)
  end
end
if not hold then
  -- a held command has nothing on the platform to re-check: its stale deadline settles it
  redis.call('ZADD', quiet, reconcile_at, command_id)
end
refresh_due(stale, due_revoke, member)
refresh_due(quiet, due_reconcile, member)
local status = 'PENDING'
for i = 1, #fields, 2 do
  if fields[i] == 'platform_status' then
    status = fields[i + 1]
  end
end
feed_append(events, events_seq, now, platform, device_id, command_id, 'PENDING', nil, status, 'api',
  'api', 0, created)
return {'PENDING', unpack(replaced)}

-- Shared helpers, prepended to each script by store/scripts.py (Redis scripts cannot import).
local RANK = {PENDING=1, SENT=2, DELIVERED=3, SUCCEEDED=4, FAILED=4, TIMEOUT=4, EXPIRED=4, CANCELED=4}
local TERMINAL = 4

-- Point a fleet-wide due index at the earliest deadline in a device's own sorted set.
local function refresh_due(zdev, zdue, member)
  local first = redis.call('ZRANGE', zdev, 0, 0, 'WITHSCORES')
  if first[1] then
    redis.call('ZADD', zdue, first[2], member)
  else
    redis.call('ZREM', zdue, member)
  end
end

-- Append an entry to a `;`-separated timeline, keeping the first entry and the newest ones.
local function timeline_append(tl, entry, max_entries)
  if tl == nil or tl == false or tl == '' then
    return entry
  end
  local parts = {}
  for part in string.gmatch(tl, '[^;]+') do
    parts[#parts + 1] = part
  end
  parts[#parts + 1] = entry
  while #parts > max_entries do
    table.remove(parts, 2)
  end
  return table.concat(parts, ';')
end

local function timeline_has(tl, key)
  if tl == nil or tl == false then
    return false
  end
  return string.find(';' .. tl, ';' .. key .. ',', 1, true) ~= nil
end

-- Fleet counts (store/stats.py): a PENDING command is in both sorted sets (by creation time and
-- by stale deadline), any other in none; `pending_created_s` in the states hash sums the
-- creation times (s) of the first set, for the pending-age histogram's sum.
local function track_pending(states, by_created, by_stale, id, state, created_at, stale_at)
  local old = redis.call('ZSCORE', by_created, id)
  if old then
    redis.call('HINCRBY', states, 'pending_created_s', -math.floor(tonumber(old) / 1000))
  end
  if state == 'PENDING' and created_at then
    redis.call('ZADD', by_created, created_at, id)
    redis.call('HINCRBY', states, 'pending_created_s', math.floor(tonumber(created_at) / 1000))
  else
    redis.call('ZREM', by_created, id)
  end
  if state ~= 'PENDING' then
    redis.call('ZREM', by_stale, id)
  elseif stale_at then
    redis.call('ZADD', by_stale, stale_at, id)
  end
end

-- The change feed (store/feed.py): append one event. Its id is `<now_ms>-<n>`, by cmdkeeper's
-- clock, never below the feed's newest id (so ids only increase, whatever the clocks do);
-- `n` numbers the events, so a subscriber's backlog is a subtraction.
local function feed_append(stream, seq, now, platform, device_id, command_id, state, previous,
                           platform_status, source, origin, attempt, at_ms)
  local id = tostring(now) .. '-0'
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if last then
    local ms, sq = string.match(last[1], '^(%d+)-(%d+)$')
    if tonumber(ms) >= tonumber(now) then
      id = ms .. '-' .. tostring(tonumber(sq) + 1)
    end
  end
  local n = redis.call('INCR', seq)
  redis.call('XADD', stream, id, 'n', n, 'p', platform, 'd', device_id, 'c', command_id,
    's', state, 'ps', previous or '', 'st', platform_status, 'src', source, 'o', origin or '',
    'a', attempt, 'at', at_ms)
end

-- A command that became final joins its device's retention set; the fleet index points at the
-- device's oldest final command (store/retention.py removes them RETAIN_FINAL_S later).
local function track_final(device_final, due_retain, member, command_id, now)
  redis.call('ZADD', device_final, 'NX', now, command_id)
  refresh_due(device_final, due_retain, member)
end

-- Command records (docs/architecture.md, "The command record"): one string per command, a
-- MessagePack map from small numbers (a field's place in REC_FIELDS) to values, numbers as
-- numbers: about a sixth of the memory a hash takes on a Redis with default settings. The platform,
-- device and command ids are in the key and not stored. To stay small: times are kept relative
-- to the creation time, the state as its timeline letter, and in the timeline a platform status
-- that is just the state's name is left empty (a stored status is never empty:
-- model.storable_status). A field not in REC_FIELDS is kept by name in a map at REC_EXTRA. A
-- record an older cmdkeeper wrote as a hash is read all the same, and written in this form the
-- next time it changes. Scripts see a record as a table of strings by long name, as a hash would
-- give them, except the timeline (`tl`), which stays in its stored form: entries are added with
-- `tl_entry`, and `tl_base` says which time its entries are relative to.
-- The tables are literals: a script runs this whole prelude on every call, and building them
-- with loops cost more than all the rest of it. Places are forever: add fields at the end.
local REC_FIELDS = {'state', 'platform_status', 'attempt', 'created_at', 'updated_at',
  'expire_at', 'stale_at', 'service_id', 'method', 'paras', 'origin', 'tl', 'sc', 'replaces',
  'replaced_by', 'error', 'error_at', 'revoke_requested_by', 'released_at', 'platform_command_id'}
local REC_PLACE = {state=1, platform_status=2, attempt=3, created_at=4, updated_at=5, expire_at=6,
  stale_at=7, service_id=8, method=9, paras=10, origin=11, tl=12, sc=13, replaces=14,
  replaced_by=15, error=16, error_at=17, revoke_requested_by=18, released_at=19,
  platform_command_id=20}
local REC_EXTRA = 21
local P_STATE, P_CREATED, P_TL = 1, 4, 12
-- places of the times kept relative to the creation time, and of the other numbers
local REC_TIME = {[5]=true, [6]=true, [7]=true, [17]=true, [19]=true}
local REC_NUMBER = {[3]=true, [4]=true, [13]=true}
local REC_SKIP = {platform=true, device_id=true, command_id=true, tl_base=true}
local STATE_NAME = {P='PENDING', S='SENT', D='DELIVERED', U='SUCCEEDED', F='FAILED', T='TIMEOUT',
  E='EXPIRED', C='CANCELED'}
local STATE_LETTER = {PENDING='P', SENT='S', DELIVERED='D', SUCCEEDED='U', FAILED='F',
  TIMEOUT='T', EXPIRED='E', CANCELED='C'}

-- The timeline with each entry's time moved by `shift` ms, its statuses packed as stored when
-- `pack`; entries read `<letter><attempt>,<at_ms>,<source>,<platform_status>,<applied>`.
local function tl_recode(tl, shift, pack)
  local out = {}
  for entry in string.gmatch(tl, '[^;]+') do
    local head, at, rest = string.match(entry, '^([^,]*),([^,]*),(.*)$')
    if pack then
      local src, status, applied = string.match(rest, '^([^,]*),([^,]*),(.*)$')
      if status == STATE_NAME[string.sub(head, 1, 1)] then
        rest = src .. ',,' .. applied
      end
    end
    out[#out + 1] = head .. ',' .. string.format('%.0f', tonumber(at) + shift) .. ',' .. rest
  end
  return table.concat(out, ';')
end

-- A new timeline entry `<letter><attempt>,<at_ms>,<source>,<platform_status>` (no applied flag)
-- in the form `rec.tl` keeps; compare and append only entries made by this.
local function tl_entry(rec, entry)
  if rec.tl_base == nil then
    rec.tl_base = tonumber(rec.created_at) or 0
  end
  local head, at, src, status = string.match(entry, '^([^,]*),([^,]*),([^,]*),(.*)$')
  if status == STATE_NAME[string.sub(head, 1, 1)] then
    status = ''
  end
  return head .. ',' .. string.format('%.0f', tonumber(at) - rec.tl_base) .. ',' .. src .. ','
    .. status
end

-- The timeline relative to the record's creation time as it is now (a create can change it).
local function tl_rebased(rec)
  local base = tonumber(rec.created_at) or 0
  if rec.tl and rec.tl_base and rec.tl_base ~= base then
    return tl_recode(rec.tl, rec.tl_base - base, false)
  end
  return rec.tl
end

local function as_text(value)
  if type(value) == 'number' then
    return string.format('%.0f', value)
  end
  return value
end

-- The record at `key` as a table of strings by long name, or nil when there is none.
local function rec_load(key)
  local value = redis.pcall('GET', key)
  if not value then
    return nil
  end
  local rec = {}
  if type(value) == 'table' then
    -- WRONGTYPE: an older cmdkeeper's hash
    local flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do
      rec[flat[i]] = flat[i + 1]
    end
    rec.platform, rec.device_id, rec.command_id = nil, nil, nil
    rec.tl_base = tonumber(rec.created_at) or 0
    if rec.tl then
      rec.tl = tl_recode(rec.tl, -rec.tl_base, true)
    end
    return rec
  end
  local packed = cmsgpack.unpack(value)
  local base = packed[P_CREATED] or 0
  for i = 1, #REC_FIELDS do
    local v = packed[i]
    if v ~= nil then
      if REC_TIME[i] and type(v) == 'number' then
        v = v + base
      elseif i == P_STATE then
        v = STATE_NAME[v] or v
      end
      rec[REC_FIELDS[i]] = as_text(v)
    end
  end
  local extra = packed[REC_EXTRA]
  if extra then
    for name, v in pairs(extra) do
      rec[name] = v
    end
  end
  rec.tl_base = base
  return rec
end

-- Write `rec` (a table of strings or numbers by long name) as the record at `key`.
local function rec_save(key, rec)
  local base = tonumber(rec.created_at) or 0
  local out, extra = {}, nil
  for name, v in pairs(rec) do
    local i = REC_PLACE[name]
    if REC_TIME[i] then
      v = tonumber(v) and tonumber(v) - base or v
    elseif REC_NUMBER[i] then
      v = tonumber(v) or v
    elseif i == P_STATE then
      v = STATE_LETTER[v] or v
    end
    if i then
      out[i] = v
    elseif not REC_SKIP[name] then
      extra = extra or {}
      extra[name] = v
    end
  end
  out[P_TL] = tl_rebased(rec)
  out[REC_EXTRA] = extra
  redis.call('SET', key, cmsgpack.pack(out))
end

-- The record as a flat {name, value, ...} list of strings (what a hash's HGETALL gives), the
-- ids from its key included, the timeline relative to `created_at` (store/records.py decodes
-- it): what scripts answer with.
local function rec_flat(key, rec)
  local platform, device_id, command_id = string.match(key, '{([^:]+):(.-)}:cmd:(.*)$')
  local out = {'platform', platform, 'device_id', device_id, 'command_id', command_id}
  for name, value in pairs(rec) do
    if name ~= 'tl_base' and name ~= 'tl' then
      out[#out + 1] = name
      out[#out + 1] = tostring(value)
    end
  end
  if rec.tl then
    out[#out + 1] = 'tl'
    out[#out + 1] = tl_rebased(rec)
  end
  return out
end

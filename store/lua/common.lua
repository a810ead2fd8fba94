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
-- MessagePack map with short field names and numbers as numbers: a fifth of the memory a hash
-- takes on a Redis with default settings. The platform, device and command ids are in the key
-- and not stored. To stay small: times are kept relative to the creation time (`c`), the state
-- as its timeline letter, and in the timeline a platform status that is just the state's name is
-- left empty (a stored status is never empty: model.storable_status). A record an older
-- cmdkeeper wrote as a hash is read all the same, and written in this form the next time it
-- changes. Scripts see a record as a table of strings, by long name, as a hash would give them.
local REC_SHORT = {state='s', platform_status='ps', attempt='a', created_at='c', updated_at='u',
  expire_at='x', stale_at='t', service_id='sv', method='m', paras='pa', origin='o', tl='tl',
  sc='sc', replaces='rp', replaced_by='rb', error='e', error_at='ea', revoke_requested_by='rq',
  released_at='rl', platform_command_id='pc'}
local REC_LONG = {}
for long, short in pairs(REC_SHORT) do
  REC_LONG[short] = long
end
local REC_NUMBER = {attempt=true, sc=true}
local REC_TIME = {updated_at=true, expire_at=true, stale_at=true, error_at=true, released_at=true}
local REC_FROM_KEY = {platform=true, device_id=true, command_id=true}
local STATE_NAME = {P='PENDING', S='SENT', D='DELIVERED', U='SUCCEEDED', F='FAILED', T='TIMEOUT',
  E='EXPIRED', C='CANCELED'}
local STATE_LETTER = {}
for letter, name in pairs(STATE_NAME) do
  STATE_LETTER[name] = letter
end

-- The timeline with each entry's time moved by `shift` ms and its status packed (`pack`) or
-- unpacked; entries read `<letter><attempt>,<at_ms>,<source>,<platform_status>,<applied>`.
local function tl_recode(tl, shift, pack)
  local out = {}
  for entry in string.gmatch(tl, '[^;]+') do
    local head, at, rest, status, applied = string.match(entry, '^([^,]*),([^,]*),([^,]*),([^,]*),(.*)$')
    local name = STATE_NAME[string.sub(head, 1, 1)]
    if pack and status == name then
      status = ''
    elseif not pack and status == '' then
      status = name or ''
    end
    out[#out + 1] = head .. ',' .. string.format('%.0f', tonumber(at) + shift) .. ',' .. rest
      .. ',' .. status .. ',' .. applied
  end
  return table.concat(out, ';')
end

local function as_text(value)
  if type(value) == 'number' then
    return string.format('%.0f', value)
  end
  return value
end

-- The record at `key` as a table of strings by long name, or nil when there is none.
local function rec_load(key)
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'none' then
    return nil
  end
  local rec = {}
  if kind == 'hash' then
    local flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do
      if not REC_FROM_KEY[flat[i]] then
        rec[flat[i]] = flat[i + 1]
      end
    end
    return rec
  end
  local packed = cmsgpack.unpack(redis.call('GET', key))
  local base = packed.c or 0
  for name, value in pairs(packed) do
    local long = REC_LONG[name] or name
    if REC_TIME[long] and type(value) == 'number' then
      value = value + base
    elseif long == 'state' then
      value = STATE_NAME[value] or value
    elseif long == 'tl' then
      value = tl_recode(value, base, false)
    end
    rec[long] = as_text(value)
  end
  return rec
end

-- Write `rec` (a table of strings or numbers by long name) as the record at `key`.
local function rec_save(key, rec)
  local base = tonumber(rec.created_at)
  local out = {c = base}
  base = base or 0
  for name, value in pairs(rec) do
    if REC_TIME[name] and tonumber(value) then
      value = tonumber(value) - base
    elseif REC_NUMBER[name] and tonumber(value) then
      value = tonumber(value)
    elseif name == 'state' then
      value = STATE_LETTER[value] or value
    elseif name == 'tl' then
      value = tl_recode(value, -base, true)
    end
    if name ~= 'created_at' and not REC_FROM_KEY[name] then
      out[REC_SHORT[name] or name] = value
    end
  end
  redis.call('SET', key, cmsgpack.pack(out))
end

-- The record as a flat {name, value, ...} list of strings (what a hash's HGETALL gives), the
-- ids from its key included: what scripts answer with.
local function rec_flat(key, rec)
  local platform, device_id, command_id = string.match(key, '{([^:]+):(.-)}:cmd:(.*)$')
  local out = {'platform', platform, 'device_id', device_id, 'command_id', command_id}
  for name, value in pairs(rec) do
    out[#out + 1] = name
    out[#out + 1] = tostring(value)
  end
  return out
end

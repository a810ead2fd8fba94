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

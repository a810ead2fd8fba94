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

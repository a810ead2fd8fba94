-- The next held-back command of a device to hand to the platform, if the device has room: fewer
-- than `in_flight_limit` of its commands handed over and not final yet. Held commands go in
-- creation order; one with `min_left_ms` or less left before it is stale is skipped (it is left
-- to its revocation, which needs no platform call). With nothing to hand over, the device
-- leaves the release index: the next command of it to become final puts it back.
-- One step so that the room, the choice and the index agree; it runs under the device's lock
-- (workers/holdback.py), so no creation or other release moves the queue meanwhile.
-- KEYS: device_held, device_in_flight, due_release
-- ARGV: cmd_prefix, in_flight_limit, now_ms, min_left_ms, device_member
-- Returns {} or {command_id, service_id, method, paras, stale_at, expire_at} (expire_at '' when
-- the record has none).
local held, in_flight, due_release = KEYS[1], KEYS[2], KEYS[3]
local prefix, limit, now, min_left, member = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), ARGV[5]
if redis.call('SCARD', in_flight) < limit then
  for _, id in ipairs(redis.call('ZRANGE', held, 0, -1)) do
    local f = rec_load(prefix .. id) or {}
    if f.state == 'PENDING' and f.stale_at and tonumber(f.stale_at) > now + min_left then
      return {id, f.service_id or '', f.method or '', f.paras or '{}', f.stale_at,
        f.expire_at or ''}
    end
  end
end
redis.call('ZREM', due_release, member)
return {}

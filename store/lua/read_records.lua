-- Command records as flat field/value lists (what a hash's HGETALL would give, the ids from the
-- key included), one per key, an empty list for a key with no record: how Python reads records
-- (common.lua has their encoding), many in one round trip.
-- KEYS: ...cmd_keys
-- ARGV: ...fields
-- `fields` empty: every field; else only these (in this order, '' for one the record lacks).
local out = {}
for i, key in ipairs(KEYS) do
  local rec = rec_load(key)
  if not rec then
    out[i] = {}
  elseif #ARGV == 0 then
    out[i] = rec_flat(key, rec)
  else
    local picked = {}
    for j, name in ipairs(ARGV) do
      picked[j] = rec[name] or ''
    end
    out[i] = picked
  end
end
return out

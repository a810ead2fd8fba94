-- Rewrite the records an older cmdkeeper kept as hashes in today's packed form
-- (store/stats_backfill.py); a record already packed, or none, is left alone. A final record is
-- never written again, so without this it would stay a hash until retention removes it.
-- KEYS: ...cmd_keys
-- ARGV: #cmd_keys
-- Returns how many records were rewritten now.
local packed = 0
for i = 1, tonumber(ARGV[1]) do
  if redis.call('TYPE', KEYS[i])['ok'] == 'hash' then
    rec_save(KEYS[i], rec_load(KEYS[i]))
    packed = packed + 1
  end
end
return packed

"""Retention: final commands are removed RETAIN_FINAL_S after they became final, so Redis holds
the recent past and open commands, not all of history (the change feed is where history goes).

The scripts that make a command final put it in its device's retention set
(`keys.device_final`, scored by when it became final), and a fleet index (`keys.DUE_RETAIN`)
points at each device's oldest one: the clock's sweep removes what is due in bounded batches, at
O(log N + removed) per sweep, like every other due index. A removed command leaves a tombstone
in the command -> device index while the feed may still name it (EVENTS_RETAIN_S), so that
`GET /api/v1/commands/...` can say it was removed rather than never known. Open commands are
never removed.
"""

from __future__ import annotations

import redis

from store import keys
from store.readers import split_member
from store.script_calls import Scripts

#: Most commands (and tombstones) one sweep removes; the rest wait for the next sweep.
BATCH = 500


def remove_due(client: redis.Redis, scripts: Scripts, now_ms: int, retain_final_s: int, *,
               limit: int = BATCH) -> dict[str, int]:
    """Remove up to `limit` commands that became final more than `retain_final_s` ago; how many
    went, by platform."""
    cutoff = now_ms - retain_final_s * 1000
    by_platform: dict[str, int] = {}
    removed = 0
    for member in client.zrangebyscore(keys.DUE_RETAIN, "-inf", cutoff, start=0, num=limit):
        if removed >= limit:
            break
        platform, device_id = split_member(member)
        final = keys.device_final(platform, device_id)
        ids = client.zrangebyscore(final, "-inf", cutoff, start=0, num=limit - removed)
        count = int(scripts.remove_final(
            device_final=final, due_retain=keys.DUE_RETAIN,
            device_cmds=keys.device_commands(platform, device_id),
            command_states=keys.command_states(platform), removed=keys.REMOVED,
            deliveries=keys.deliveries(platform, device_id),
            device_platform_ids=keys.device_platform_ids(platform, device_id),
            cmd_keys=[keys.command(platform, device_id, c) for c in ids],
            index_keys=[keys.command_device_index(platform, c) for c in ids],
            device_member=member, cutoff_ms=cutoff, now_ms=now_ms, platform=platform,
            command_ids=ids))
        removed += count
        if count:
            by_platform[platform] = by_platform.get(platform, 0) + count
    return by_platform


def forget_tombstones(client: redis.Redis, scripts: Scripts, now_ms: int, keep_s: int, *,
                      limit: int = BATCH) -> int:
    """Forget tombstones of commands removed more than `keep_s` ago."""
    members = client.zrangebyscore(keys.REMOVED, "-inf", now_ms - keep_s * 1000, start=0,
                                   num=limit)
    if not members:
        return 0
    index_keys = [keys.command_device_index(*split_member(m)) for m in members]
    return int(scripts.forget_removed(removed=keys.REMOVED, index_keys=index_keys,
                                      members=members))


def removed_at(client: redis.Redis, platform: str, command_id: str) -> int | None:
    """When a command was removed by retention, if its tombstone is still kept."""
    value = client.hget(keys.command_device_index(platform, command_id), command_id)
    return int(value[1:]) if value and value.startswith("~") else None

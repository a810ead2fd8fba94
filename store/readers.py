"""Read-only views of the store for the operator CLI: nothing here writes or claims.

What is due on a fleet-wide index (the clock's view, without its lease), the devices an index
holds, a device's command states and its own due members. Devices are indexed only by the two
due sorted sets (`keys.DUE_REVOKE`, `keys.DUE_RECONCILE`): a device is on the reconcile index
while it has an open command or a reconcile request, which is every device a reconcile can tell
anything new about. Indexes are walked with ZSCAN, never KEYS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import redis

from store import keys
from store.records import read_raw
from store.script_calls import Scripts

#: Members fetched per ZSCAN step when walking an index.
SCAN_COUNT = 500


@dataclass(frozen=True)
class Due:
    """One device on a due index and its deadline (epoch ms)."""

    platform: str
    device_id: str
    deadline_ms: int


def split_member(member: str) -> tuple[str, str]:
    """(platform, device id) of an index member `<platform>:<device_id>`."""
    platform, _, device_id = member.partition(":")
    return platform, device_id


def peek_due(client: redis.Redis, index: str, until_ms: int, *, limit: int) -> list[Due]:
    """Devices on `index` due by `until_ms`, earliest first, as a claim would take them."""
    rows = client.zrangebyscore(index, "-inf", until_ms, start=0, num=limit, withscores=True)
    return [Due(*split_member(member), int(score)) for member, score in rows]


def count_due(client: redis.Redis, index: str, until_ms: int) -> int:
    return int(client.zcount(index, "-inf", until_ms))


def index_devices(client: redis.Redis, platform: str, *indexes: str) -> Iterator[str]:
    """Device ids of one platform on any of `indexes`, each once (ZSCAN: a device present for
    the whole walk is always seen)."""
    seen: set[str] = set()
    for index in indexes:
        for member, _ in client.zscan_iter(index, match=f"{platform}:*", count=SCAN_COUNT):
            _, device_id = split_member(member)
            if device_id not in seen:
                seen.add(device_id)
                yield device_id


def device_known(client: redis.Redis, platform: str, device_id: str) -> bool:
    """Whether cmdkeeper has recorded any command of the device."""
    return bool(client.exists(keys.device_commands(platform, device_id)))


def command_states(client: redis.Redis, platform: str,
                   device_id: str) -> dict[str, tuple[str, int]]:
    """Every recorded command of the device: id -> (state, attempt)."""
    ids = client.zrange(keys.device_commands(platform, device_id), 0, -1)
    rows = read_raw(Scripts(client), [keys.command(platform, device_id, c) for c in ids],
                    fields=("state", "attempt"))
    return {command_id: (row["state"], int(row["attempt"] or 0))
            for command_id, row in zip(ids, rows, strict=True) if row.get("state")}


def command_progress(client: redis.Redis, platform: str, device_id: str,
                     command_id: str) -> tuple[str, int] | None:
    """(state, attempt) of one command, None when it is not recorded."""
    (row,) = read_raw(Scripts(client), [keys.command(platform, device_id, command_id)],
                      fields=("state", "attempt"))
    return (row["state"], int(row["attempt"] or 0)) if row.get("state") else None


def members_with_deadlines(client: redis.Redis, key: str) -> list[tuple[str, int]]:
    """A device's own due set (`keys.device_stale` or `keys.device_quiet`), earliest first."""
    return [(member, int(score)) for member, score in client.zrange(key, 0, -1, withscores=True)]

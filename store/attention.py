"""What needs an operator's eye on the dashboard's fleet page, read from existing indexes only
(never a scan over commands): the stale PENDING commands, oldest first, with their devices; the
devices next in line for a revocation; and how many devices the clock has left overdue.

Two round trips at most: the indexes in one pipeline, then the devices of the listed stale
commands (command id -> device id, `keys.command_device_index`). Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from store import keys
from store.model import PLATFORMS


@dataclass(frozen=True)
class StaleCommand:
    """A PENDING command past its stale deadline."""

    platform: str
    #: None when the command -> device index does not know it (never expected).
    device_id: str | None
    command_id: str
    stale_at_ms: int


@dataclass(frozen=True)
class DueDevice:
    """A device on a fleet-wide due index, at its score: its earliest deadline, or the end of a
    claim's lease while a job holds it."""

    platform: str
    device_id: str
    due_ms: int


@dataclass(frozen=True)
class Attention:
    #: Stale PENDING commands of every platform, the longest stale first.
    stale: list[StaleCommand]
    #: Devices next in line on the revocation index, earliest first.
    next_revocations: list[DueDevice]
    #: Devices left on a due index, unclaimed, past `now - overdue_ms`.
    overdue_revocations: int
    overdue_reconciles: int


def _device(member: str) -> tuple[str, str]:
    platform, _, device_id = member.partition(":")
    return platform, device_id


def read_attention(client: redis.Redis, now_ms: int, *, limit: int,
                   overdue_ms: int) -> Attention:
    pipe = client.pipeline(transaction=False)
    for platform in PLATFORMS:
        pipe.zrangebyscore(keys.pending_by_stale_at(platform), "-inf", now_ms, start=0,
                           num=limit, withscores=True)
    pipe.zrange(keys.DUE_REVOKE, 0, limit - 1, withscores=True)
    pipe.zcount(keys.DUE_REVOKE, "-inf", now_ms - overdue_ms)
    pipe.zcount(keys.DUE_RECONCILE, "-inf", now_ms - overdue_ms)
    *stale_rows, revoke_rows, overdue_revocations, overdue_reconciles = pipe.execute()

    stale = sorted(((int(score), platform, command_id)
                    for platform, rows in zip(PLATFORMS, stale_rows, strict=True)
                    for command_id, score in rows))[:limit]
    devices: list[str | None] = []
    if stale:
        pipe = client.pipeline(transaction=False)
        for _, platform, command_id in stale:
            pipe.hget(keys.command_device_index(platform, command_id), command_id)
        devices = pipe.execute()
    return Attention(
        stale=[StaleCommand(platform, device_id, command_id, score)
               for (score, platform, command_id), device_id
               in zip(stale, devices, strict=True)],
        next_revocations=[DueDevice(*_device(member), int(score))
                          for member, score in revoke_rows],
        overdue_revocations=int(overdue_revocations),
        overdue_reconciles=int(overdue_reconciles),
    )

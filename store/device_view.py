"""What the dashboard's device page reads, in one round trip: the device's newest commands with
their timelines, and the indexes that say what cmdkeeper will do next (stale deadlines, quiet
deadlines, the device's place on the fleet-wide due indexes). Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store import keys
from store.commands import CommandStore, decode_listing

#: The member of a device's quiet set that stands for an explicit reconcile request.
REQUEST_MEMBER = "*"


@dataclass(frozen=True)
class DeviceView:
    #: The newest commands, newest first (at most the `limit` asked for).
    commands: list[dict[str, Any]]
    #: PENDING command id -> stale deadline (ms), for those still on the revocation index; a
    #: PENDING command missing here was parked (the platform would not cancel it), refused, or
    #: was never given a deadline (learned from a callback).
    stale_at: dict[str, int]
    #: Open command id -> when its silence calls for a history re-query (ms).
    quiet_at: dict[str, int]
    #: When an explicit reconcile of the device was asked for (ms), if one is waiting.
    reconcile_requested_at: int | None
    #: The device's score on the fleet-wide due indexes: its earliest deadline, or the end of a
    #: claim's lease while a job holds it.
    revoke_due_ms: int | None
    reconcile_due_ms: int | None
    #: How many commands cmdkeeper holds for the device (more than `commands` when cut).
    total: int = 0
    #: Command id -> (subscription, state, attempt) -> when the subscriber took that event (ms),
    #: as long as the feed keeps events.
    taken: dict[str, dict[tuple[str, str, int], int]] = field(default_factory=dict)
    #: The hold-back queue (IoTDA): the commands held, oldest first; those handed over and not
    #: final; and the device's place on the release index (when the clock sends a release job).
    held: list[str] = field(default_factory=list)
    in_flight: set[str] = field(default_factory=set)
    release_due_ms: int | None = None

    def taken_by(self, command_id: str, state: str, attempt: int) -> list[tuple[str, int]]:
        """(subscription, when) of each subscriber that took this state of the command."""
        return sorted((sub, at) for (sub, s, a), at in self.taken.get(command_id, {}).items()
                      if s == state and a == attempt)

    def quiet_deadlines(self) -> list[int]:
        """Every reconcile deadline of the device, the explicit request's included."""
        extra = [self.reconcile_requested_at] if self.reconcile_requested_at is not None else []
        return [*self.quiet_at.values(), *extra]


def read_device(store: CommandStore, platform: str, device_id: str,
                limit: int = 50) -> DeviceView:
    pipe = store.client.pipeline(transaction=False)
    store.scripts.list_device(device_cmds=keys.device_commands(platform, device_id),
                              cmd_prefix=keys.command(platform, device_id, ""), limit=limit,
                              state="", client=pipe)
    pipe.zcard(keys.device_commands(platform, device_id))
    pipe.zrange(keys.device_stale(platform, device_id), 0, -1, withscores=True)
    pipe.zrange(keys.device_quiet(platform, device_id), 0, -1, withscores=True)
    tag = keys.device_tag(platform, device_id)
    pipe.zscore(keys.DUE_REVOKE, tag)
    pipe.zscore(keys.DUE_RECONCILE, tag)
    pipe.hgetall(keys.deliveries(platform, device_id))
    pipe.zrange(keys.device_held(platform, device_id), 0, -1)
    pipe.smembers(keys.device_in_flight(platform, device_id))
    pipe.zscore(keys.DUE_RELEASE, tag)
    (rows, total, stale, quiet, revoke_due, reconcile_due, taken, held, in_flight,
     release_due) = pipe.execute()
    quiet_at = {member: int(score) for member, score in quiet}
    return DeviceView(
        commands=decode_listing(rows),
        stale_at={member: int(score) for member, score in stale},
        quiet_at=quiet_at,
        reconcile_requested_at=quiet_at.pop(REQUEST_MEMBER, None),
        revoke_due_ms=int(revoke_due) if revoke_due is not None else None,
        reconcile_due_ms=int(reconcile_due) if reconcile_due is not None else None,
        total=int(total),
        taken=decode_taken(taken),
        held=list(held),
        in_flight=set(in_flight),
        release_due_ms=int(release_due) if release_due is not None else None,
    )


def decode_taken(raw: dict[str, str]) -> dict[str, dict[tuple[str, str, int], int]]:
    """The deliveries hash (store/subscriptions.py writes it) by command."""
    out: dict[str, dict[tuple[str, str, int], int]] = {}
    for command_id, value in raw.items():
        for item in value.split(";"):
            if item:
                sub, state, attempt, at_ms = item.split(",")
                out.setdefault(command_id, {})[(sub, state, int(attempt))] = int(at_ms)
    return out

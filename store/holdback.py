"""The hold-back queue's own steps in Redis (docs/architecture.md, "The hold-back queue").

IoTDA v5 cannot cancel a command it holds, so cmdkeeper keeps each device's commands itself and
hands the platform at most IOTDA_IN_FLIGHT_PER_DEVICE at a time. A held command is a normal
record (PENDING, `platform_status` HELD) named by cmdkeeper's id, listed in its device's held
set by creation time; once handed over it is in flight, and the platform's id maps to the
record. Recording a held command is `CommandStore.hold_unless_room` (create_command.lua);
everything that makes a command final is apply_event.lua, which also frees its place in flight.
What is here runs in the release worker, under the device's lock: which held command goes next
(`next_held`), recording the handover (`record_release`), and when to look again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from store import keys
from store.model import Event, Source, State, encode_timeline_entry
from store.script_calls import Scripts

#: After a command in flight becomes final, the worker that applied it sends a release job at
#: once; the clock sends one only if the device is still waiting this much later.
RELEASE_GRACE_MS = 30_000
#: A held command with this little time left before it is stale is not handed over: IoTDA
#: reads `expire_time` 0 as 24 hours, and it would reach the platform stale. Its revocation,
#: which needs no platform call, is due anyway.
MIN_LEFT_MS = 2_000
#: A command handed over is the platform's to expire; its history is re-checked this long
#: after it should have expired, in case the push saying so was lost.
EXPIRY_CHECK_SLACK_MS = 30_000


@dataclass(frozen=True)
class HeldCommand:
    """The next held command to hand over, as its record has it (times in epoch ms)."""

    command_id: str
    service_id: str
    method: str
    paras: dict[str, Any]
    stale_at_ms: int
    expire_at_ms: int | None

    def deadline_ms(self) -> int:
        """When it must be gone from the platform: stale, or its own lifetime's end if sooner."""
        if self.expire_at_ms is None:
            return self.stale_at_ms
        return min(self.stale_at_ms, self.expire_at_ms)


def expiry_check_ms(deadline_ms: int) -> int:
    """When to re-check the history of a command the platform expires at `deadline_ms`."""
    return deadline_ms + EXPIRY_CHECK_SLACK_MS


class HoldBackQueue:
    """The release worker's steps; one script (one round trip) each."""

    def __init__(self, client: redis.Redis, *, max_timeline: int,
                 reconcile_after_ms: int) -> None:
        self.client = client
        self.scripts = Scripts(client)
        self.max_timeline, self.reconcile_after_ms = max_timeline, reconcile_after_ms

    def next_held(self, platform: str, device_id: str, *, in_flight_limit: int,
                  now_ms: int) -> HeldCommand | None:
        """The oldest held command that may go now, if the device has room; None (and the
        device off the release index) when there is nothing to hand over."""
        row = self.scripts.next_held(
            device_held=keys.device_held(platform, device_id),
            device_in_flight=keys.device_in_flight(platform, device_id),
            due_release=keys.DUE_RELEASE, cmd_prefix=keys.command(platform, device_id, ""),
            in_flight_limit=in_flight_limit, now_ms=now_ms, min_left_ms=MIN_LEFT_MS,
            device_member=keys.device_tag(platform, device_id))
        if not row:
            return None
        command_id, service_id, method, paras, stale_at, expire_at = row
        return HeldCommand(command_id, service_id, method, json.loads(paras or "{}"),
                           int(stale_at), int(expire_at) if expire_at else None)

    def record_release(self, platform: str, device_id: str, command_id: str, *,
                       platform_command_id: str, platform_status: str, expire_at_ms: int | None,
                       deadline_ms: int, now_ms: int) -> bool:
        """The command is on the platform now, as `platform_command_id`; False when its record
        was final already (its platform id is mapped all the same)."""
        entry = encode_timeline_entry(Event(platform, device_id, command_id, State.PENDING,
                                            platform_status, now_ms, Source.API))
        return bool(self.scripts.record_release(
            cmd=keys.command(platform, device_id, command_id),
            device_held=keys.device_held(platform, device_id),
            device_in_flight=keys.device_in_flight(platform, device_id),
            device_platform_ids=keys.device_platform_ids(platform, device_id),
            device_stale=keys.device_stale(platform, device_id),
            device_quiet=keys.device_quiet(platform, device_id),
            due_revoke=keys.DUE_REVOKE, due_reconcile=keys.DUE_RECONCILE,
            command_id=command_id, platform_command_id=platform_command_id,
            platform_status=platform_status,
            expire_at_ms=deadline_ms if expire_at_ms is None else expire_at_ms,
            released_at_ms=now_ms, reconcile_at_ms=now_ms + self.reconcile_after_ms,
            expiry_check_ms=expiry_check_ms(deadline_ms), entry=entry,
            max_timeline=self.max_timeline, device_member=keys.device_tag(platform, device_id)))

    def release_later(self, platform: str, device_id: str, at_ms: int) -> None:
        """Have the clock try the device's release again at `at_ms` (the platform was full)."""
        self.client.zadd(keys.DUE_RELEASE, {keys.device_tag(platform, device_id): at_ms})

    def in_flight(self, platform: str, device_id: str) -> set[str]:
        return self.client.smembers(keys.device_in_flight(platform, device_id))

"""Handing held-back commands to the platform as room frees up (docs/architecture.md, "The
hold-back queue").

IoTDA v5 cannot cancel a command it holds, so cmdkeeper gives it at most
IOTDA_IN_FLIGHT_PER_DEVICE of a device's commands at a time and keeps the rest itself. When one
in flight becomes final, the worker that applied it sends a release job (and the clock does,
`store.holdback.RELEASE_GRACE_MS` later, if that job was lost): the oldest held commands still
worth sending go out, each with `expire_time` = the time it has left before it would be stale,
so the platform's own EXPIRED is its revocation. A held command that is already (nearly) stale
is skipped: its revocation needs no platform call (workers/revoke.py).

A release runs under the device's lock, which creation and the revocation of held commands take
too: a command is never handed over while it is being revoked, and a new command never slips
past the ones waiting before it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from uuid import uuid4

from cmdkeeper.clock import Clock
from platforms.errors import PermanentError
from platforms.gateway import CreateRequest, Gateway
from platforms.iotda import PENDING_LIMIT_CODES
from store.commands import CommandStore
from store.model import Event, Source, State
from store.ratelimit import Priority

log = logging.getLogger(__name__)

#: How long a release may hold the device (one platform call per command: its read timeout and
#: a creation's wait for a call slot fit), and wait for it.
RELEASE_LOCK_TTL_MS = 30_000
RELEASE_LOCK_WAIT_S = 5.0
#: The platform refused a command because the device already has 20 PENDING (other clients'
#: commands count too): the clock tries again this much later.
PLATFORM_FULL_RETRY_MS = 60_000
#: The `platform_status` of a held command the platform refused for good when it was handed over
#: (the API had answered 201 already): it becomes FAILED, with the platform's error kept.
REFUSED_STATUS = "REFUSED"
#: Most commands one job hands over (a guard; the device's room is far smaller).
MAX_PER_JOB = 100


class DeviceBusy(Exception):
    """Raised when the device's lock stays taken (a creation or revocation): the job retries."""


@dataclass
class ReleaseResult:
    #: (record id, platform id) of each command handed over.
    released: list[tuple[str, str]] = field(default_factory=list)
    #: Held commands the platform refused for good (now FAILED).
    refused: list[str] = field(default_factory=list)
    #: The platform was full: the clock tries again later.
    later: bool = False


def release_device(store: CommandStore, gateway: Gateway, device_id: str, clock: Clock, *,
                   in_flight_limit: int) -> ReleaseResult:
    """Hand the device's oldest held commands to the platform while it has room."""
    platform = gateway.platform
    owner = f"release:{uuid4()}"
    if not store.locks.acquire_waiting(platform, device_id, owner, RELEASE_LOCK_TTL_MS,
                                       RELEASE_LOCK_WAIT_S):
        raise DeviceBusy(f"{platform} device {device_id} is locked")
    result = ReleaseResult()
    try:
        for _ in range(MAX_PER_JOB):
            held = store.holdback.next_held(platform, device_id,
                                            in_flight_limit=in_flight_limit, now_ms=clock())
            if held is None:
                break
            deadline = held.deadline_ms()
            # IoTDA gets no callback URL: its rule engine pushes every status to one URL
            request = CreateRequest(device_id, held.service_id, held.method, held.paras,
                                    callback_url="", expire_in_s=(deadline - clock()) // 1000)
            try:
                created = gateway.create(request, Priority.CREATE)
            except PermanentError as e:
                if e.code in PENDING_LIMIT_CODES:
                    log.info("%s:%s is full on the platform (%s); release tried again later",
                             platform, device_id, e.code)
                    store.holdback.release_later(platform, device_id,
                                                 clock() + PLATFORM_FULL_RETRY_MS)
                    result.later = True
                    break
                if e.code == "no_time_left":
                    continue  # it went stale meanwhile: the next look skips it
                _refuse(store, platform, device_id, held.command_id, e, clock)
                result.refused.append(held.command_id)
                continue
            store.holdback.record_release(
                platform, device_id, held.command_id, platform_command_id=created.command_id,
                platform_status=created.platform_status, expire_at_ms=created.expire_at_ms,
                deadline_ms=deadline, now_ms=clock())
            result.released.append((held.command_id, created.command_id))
    finally:
        store.locks.release(platform, device_id, owner)
    if result.released:
        log.info("handed %d held command(s) of %s:%s to the platform", len(result.released),
                 platform, device_id)
    return result


def _refuse(store: CommandStore, platform: str, device_id: str, command_id: str,
            error: PermanentError, clock: Clock) -> None:
    """The platform will never take this held command: FAILED, with its error on the record."""
    now = clock()
    log.warning("%s refused held command %s of %s for good: %s %s", platform, command_id,
                device_id, error.code, error.text)
    error_json = json.dumps(error.as_dict(), separators=(",", ":"))
    store.apply(Event(platform, device_id, command_id, State.FAILED, REFUSED_STATUS, now,
                      Source.API), now, fill={"error": error_json, "error_at": str(now)})

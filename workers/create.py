"""Creating a command: on the platform first, then recorded PENDING with its stale deadline.

Called by the web process (the API answers with the record), so it takes its dependencies as
arguments like every function here. Nothing is recorded for a command the platform refused.

On a platform that cannot cancel (IoTDA v5) a command goes to the platform at once only when its
device has room in the hold-back queue (fewer than IOTDA_IN_FLIGHT_PER_DEVICE of its commands
in flight, none held before it), with `expire_time` = the time it has until it is stale; else
it is recorded held back, with no platform call (docs/architecture.md, "The hold-back queue").
Such a record is named by cmdkeeper (`ck-<hex>`): held, it has no platform id yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import uuid4

from cmdkeeper.clock import Clock
from cmdkeeper.config import Config
from cmdkeeper.metric_names import COMMANDS_CREATED
from platforms.gateway import CreateRequest, Gateway
from store.commands import CommandStore, NewCommand
from store.model import HELD_STATUS, HOLD_BACK_PLATFORMS
from store.ratelimit import Priority

#: How long a creation waits for a running bulk cancel of its device to finish, and how long
#: it may hold the device itself.
CREATE_LOCK_WAIT_S = 15.0
CREATE_LOCK_TTL_MS = 30_000


class DeviceBusy(Exception):
    """Raised when a bulk cancel of the device still runs after the creation's wait."""


@dataclass(frozen=True)
class CreateBody:
    """A validated create request (api/validation.py builds it)."""

    platform: str
    device_id: str
    service_id: str
    method: str
    paras: dict[str, Any]
    expire_in_s: int
    stale_after_s: int | None


@dataclass(frozen=True)
class CreateResult:
    command_id: str
    #: Older PENDING commands this one superseded (now stale, to be revoked).
    replaced: list[str]
    #: Recorded held back, with no platform call (IoTDA).
    held: bool = False


def callback_url(config: Config, platform: str) -> str:
    """Where the platform reports statuses. IoTDA takes no URL per command: its rule engine
    pushes every status to this one (README, "IoTDA set-up, step by step")."""
    if platform == "huawei":
        return f"{config.public_url}/webhooks/huawei/{config.webhook_token}"
    if platform == "iotda":
        return f"{config.public_url}/webhooks/iotda/{config.iotda_push_token}"
    return f"{config.public_url}/webhooks/{platform}"


def new_command_id() -> str:
    """An id for a record cmdkeeper names itself (a held-back command has no platform id)."""
    return f"ck-{uuid4().hex}"


def create_command(store: CommandStore, gateway: Gateway, config: Config, body: CreateBody,
                   clock: Clock) -> CreateResult:
    """Create on the platform and record; DeviceBusy when a bulk cancel holds the device."""
    owner = f"create:{uuid4()}"
    if not store.locks.acquire_waiting(body.platform, body.device_id, owner, CREATE_LOCK_TTL_MS,
                                       CREATE_LOCK_WAIT_S):
        raise DeviceBusy(f"{body.platform} device {body.device_id} is being revoked")
    if body.platform in HOLD_BACK_PLATFORMS:
        try:
            return _hold_or_send(store, gateway, config, body, clock)
        finally:
            store.locks.release(body.platform, body.device_id, owner)
    try:
        created = gateway.create(CreateRequest(
            device_id=body.device_id, service_id=body.service_id, method=body.method,
            paras=body.paras, callback_url=callback_url(config, body.platform),
            expire_in_s=body.expire_in_s), Priority.CREATE)
        stale_after_s = body.stale_after_s or config.stale_after_s
        _, replaced = store.create_command(NewCommand(
            platform=body.platform, device_id=body.device_id, command_id=created.command_id,
            service_id=body.service_id, method=body.method, paras=body.paras,
            created_ms=created.created_ms, stale_at_ms=created.created_ms + stale_after_s * 1000,
            expire_at_ms=created.expire_at_ms, platform_status=created.platform_status,
        ), supersede=config.supersede, now_ms=clock())
    finally:
        store.locks.release(body.platform, body.device_id, owner)
    COMMANDS_CREATED.inc(platform=body.platform)
    return CreateResult(created.command_id, replaced)


def _hold_or_send(store: CommandStore, gateway: Gateway, config: Config, body: CreateBody,
                  clock: Clock) -> CreateResult:
    """The hold-back queue's creation, under the device's lock: held, or sent at once."""
    now = clock()
    new = NewCommand(
        platform=body.platform, device_id=body.device_id, command_id=new_command_id(),
        service_id=body.service_id, method=body.method, paras=body.paras, created_ms=now,
        stale_at_ms=now + (body.stale_after_s or config.stale_after_s) * 1000,
        expire_at_ms=now + body.expire_in_s * 1000, platform_status=HELD_STATUS)
    limit = config.iotda_in_flight_per_device
    held, replaced = store.hold_unless_room(new, in_flight_limit=limit,
                                            supersede=config.supersede, now_ms=now)
    if held:
        return CreateResult(new.command_id, replaced, held=True)
    deadline = min(new.stale_at_ms, new.expire_at_ms or new.stale_at_ms)
    created = gateway.create(CreateRequest(
        device_id=body.device_id, service_id=body.service_id, method=body.method,
        paras=body.paras, callback_url=callback_url(config, body.platform),
        expire_in_s=(deadline - clock()) // 1000), Priority.CREATE)
    _, replaced = store.create_command(
        replace(new, platform_command_id=created.command_id,
                platform_status=created.platform_status, expire_at_ms=created.expire_at_ms),
        supersede=config.supersede, now_ms=clock(), in_flight_limit=limit)
    return CreateResult(new.command_id, replaced)

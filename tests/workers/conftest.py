"""Workers' functions on the real store with an in-memory platform (tests/fake_gateway.py):
commands recorded as the API records them, and what revocation and reconciliation leave
behind in Redis."""

from __future__ import annotations

import pytest

from cmdkeeper.clock import ManualClock
from store import keys
from store.commands import CommandStore, NewCommand
from tests.fake_gateway import FakeGateway

PLATFORM = "huawei"
DEVICE = "dev-1"
HOUR_MS = 3_600_000


@pytest.fixture
def gateway(clock: ManualClock) -> FakeGateway:
    return FakeGateway(clock, PLATFORM)


def recorded(store: CommandStore, clock: ManualClock, command_id: str, *,
             stale_in_ms: int, device_id: str = DEVICE, created_ms: int | None = None) -> str:
    """A PENDING command recorded now (or at `created_ms`), stale `stale_in_ms` from now
    (negative: stale already)."""
    now = clock()
    store.create_command(NewCommand(PLATFORM, device_id, command_id, "Valve", "SET", {"open": 1},
                                    now - HOUR_MS if created_ms is None else created_ms,
                                    now + stale_in_ms), now_ms=now)
    return command_id


def state(store: CommandStore, command_id: str) -> str:
    return store.get(PLATFORM, command_id)["state"]


def last_source(store: CommandStore, command_id: str) -> str:
    return store.get(PLATFORM, command_id)["timeline"][-1]["source"]


def revocable(store: CommandStore, device_id: str = DEVICE) -> set[str]:
    """The device's PENDING commands revocation would still look at (not parked, no error)."""
    return set(store.device_state(PLATFORM, device_id).pending)


def reconcile_requested_at(redis_client, device_id: str = DEVICE) -> float | None:
    """When an explicit reconcile of the device was asked for (None: it was not)."""
    return redis_client.zscore(keys.device_quiet(PLATFORM, device_id), "*")


def lock_holder(redis_client, device_id: str = DEVICE) -> str | None:
    return redis_client.get(keys.device_lock(PLATFORM, device_id))

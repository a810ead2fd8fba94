"""The "why is it stuck?" line of IoTDA commands in the hold-back queue: what it waits for, when
it is revoked here without a platform call, and when the platform expires one handed over. Built
as cmdkeeper gets there (workers/create.py with an in-memory IoTDA) on a real Redis."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cmdkeeper.clock import ManualClock
from dashboard.why import why_stuck
from store.commands import CommandStore
from store.device_view import read_device
from tests.fake_gateway import FakeGateway
from workers.create import CreateBody, create_command

START_MS = 1_700_000_000_000  # 22:13:20 UTC
DEVICE = "lamp-3"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
def policy(config):
    return replace(config, sweep_interval_s=5, stale_after_s=60)


def create(store, policy, clock) -> str:
    body = CreateBody("iotda", DEVICE, "Lamp", "SWITCH", {"on": 1}, 172800, None)
    return create_command(store, FakeGateway(clock, "iotda"), policy, body, clock).command_id


def why(store: CommandStore, policy, clock: ManualClock, command_id: str) -> str:
    view = read_device(store, "iotda", DEVICE)
    record = next(c for c in view.commands if c["command_id"] == command_id)
    return why_stuck(record, view, policy, clock())


def test_a_command_handed_over_is_the_platforms_to_expire(store, policy, clock):
    sent = create(store, policy, clock)
    line = why(store, policy, clock, sent)
    assert line.startswith("Sent to the platform (as cmd-1) at 22:13:20 UTC (now) with "
                           "expire_time 60 s; waiting for the device to wake.")
    assert "cannot revoke it: it expires it at 22:14:20 UTC" in line
    assert "history re-checked at 22:14:50 UTC" in line  # just after, should the push be lost


def test_a_held_command_waits_for_the_one_ahead_and_goes_stale_here(store, policy, clock):
    sent = create(store, policy, clock)
    clock.advance(10)
    held = create(store, policy, clock)
    assert why(store, policy, clock, held) == (
        f"Held back: waiting for command {sent} ahead to finish (the platform is given 1 of "
        "the device's commands at a time, as it cannot revoke them); becomes stale at "
        "22:14:30 UTC (in 60 s) and will then be revoked here without a platform call.")
    clock.advance(61)
    line = why(store, policy, clock, held)
    assert line.startswith("Held back, never handed to the platform: it is revoked here, "
                           "without a platform call. Stale since 22:14:30 UTC")
    assert "the platform should have expired it at 22:14:20 UTC" in why(store, policy, clock,
                                                                        sent)

"""A platform for the fuzz tests: the emulator (both platforms, over real HTTP), and an app
configured to use it, with call budgets high enough never to be what refuses a request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.testing import RunningEmulator, start_emulator

HUAWEI_DEVICES = ["demo-valve-1", "demo-valve-2"]  # the first is the description's example
IMEI = "869975031234561"


@pytest.fixture(scope="package")
def platform_emulator() -> Iterator[RunningEmulator]:
    with start_emulator(seed=3, speed=0) as emu:
        yield emu


@pytest.fixture
def platform_app(config, clock, redis_client, platform_emulator):
    """The app with Huawei and OneNET configured, and devices on the emulator to reach."""
    from app import create_app

    emu = platform_emulator
    emu.client.reset(seed=3, speed=0, start_ms=clock())  # the platform agrees on the time
    emu.client.set_faults(huawei_rate_limit=100_000)
    for device in HUAWEI_DEVICES:
        emu.client.add_device("huawei", device, wake_period_s=0)
    emu.client.add_device("onenet", IMEI, wake_period_s=0)
    return create_app(config.with_(
        huawei_base_url=emu.url, huawei_app_id="demo-app", huawei_secret="demo-secret",
        onenet_base_url=emu.url, onenet_api_key="demo-onenet-key",
        huawei_rate_per_min=100_000, onenet_rate_per_min=100_000,
        # a long poll waits in real time: one second keeps the fuzzing quick
        events_max_wait_s=1), clock=clock)

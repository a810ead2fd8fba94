"""Following a Huawei cancel task at a low priority: with no call slot it does not look, keeps
the device, and says so (the actor then comes back without counting a look)."""

from __future__ import annotations

import pytest

from cmdkeeper.clock import system_clock
from cmdkeeper.config import Config
from platforms.factory import huawei_gateway
from store import keys
from store.ratelimit import Priority
from tests.e2e.conftest import emu, emulator  # noqa: F401  (the emulator fixtures)
from workers import revoke
from workers.create import CreateBody, create_command

HOUR_S = 3600


@pytest.fixture
def platform_config(config: Config, emu) -> Config:  # noqa: F811
    return config.with_(huawei_base_url=emu.url, huawei_app_id="demo-app",
                        huawei_secret="demo-secret", public_url="http://127.0.0.1:9",
                        huawei_rate_per_min=20)


def test_a_follow_without_a_call_slot_does_not_look_and_keeps_the_device(
        store, platform_config, redis_client, emu):  # noqa: F811
    emu.client.add_device("huawei", "dev-f", wake_period_s=0)

    def two_hours_ago() -> int:
        return system_clock() - 2 * HOUR_S * 1000

    old = huawei_gateway(platform_config, redis_client, two_hours_ago)
    body = CreateBody("huawei", "dev-f", "Valve", "SET", {"open": 1}, expire_in_s=86_400,
                      stale_after_s=HOUR_S)
    stale = create_command(store, old, platform_config, body, two_hours_ago).command_id
    gateway = huawei_gateway(platform_config, redis_client, system_clock)
    started = revoke.revoke_device(store, gateway, "dev-f", system_clock)
    assert started.task.task_id and started.task.lock_owner  # the emulator's clock stands still
    # given a budget that other work has used up
    now = system_clock()
    redis_client.zadd(keys.rate_window("huawei:demo-app"), {f"busy{i}": now for i in range(20)})

    result = revoke.follow_task(store, gateway, started.task, system_clock,
                                priority=Priority.BACKGROUND)

    assert not result.looked and result.task.task_id == started.task.task_id
    assert result.task.targets == (stale,) and not result.canceled
    assert redis_client.get(keys.device_lock("huawei", "dev-f")) == started.task.lock_owner
    assert store.get("huawei", stale)["state"] == "PENDING"

    # once the budget has room again, the look finds the task done and frees the device
    redis_client.delete(keys.rate_window("huawei:demo-app"))
    emu.client.advance(10)
    done = revoke.follow_task(store, gateway, started.task, system_clock,
                              priority=Priority.BACKGROUND)
    assert done.looked and done.canceled == [stale] and not done.task
    assert redis_client.get(keys.device_lock("huawei", "dev-f")) is None
    assert store.get("huawei", stale)["state"] == "CANCELED"

"""A revocation records the platform's own word for a cancelled command: Huawei `CANCELED`,
OneNET send_status `2` (once it recorded Huawei's word for OneNET too)."""

from __future__ import annotations

import pytest

from cmdkeeper.clock import system_clock
from cmdkeeper.config import Config
from platforms.factory import huawei_gateway, onenet_gateway
from tests.e2e.conftest import emu, emulator  # noqa: F401  (the emulator fixtures)
from workers import revoke
from workers.create import CreateBody, create_command

HOUR_S = 3600
IMEI = "869975031277701"
WRITE = {"obj_id": 3311, "obj_inst_id": 0, "mode": 1, "data": [{"res_id": 5850, "val": True}]}


@pytest.fixture
def platform_config(config: Config, emu) -> Config:  # noqa: F811
    # callbacks and pushes to a closed local port fail at once: none reaches cmdkeeper
    return config.with_(huawei_base_url=emu.url, huawei_app_id="demo-app",
                        huawei_secret="demo-secret", onenet_base_url=emu.url,
                        onenet_api_key="demo-onenet-key", public_url="http://127.0.0.1:9")


def _create(store, platform_config, redis_client, platform: str, device: str, age_s: int) -> str:
    def clock() -> int:
        return system_clock() - age_s * 1000

    if platform == "huawei":
        gateway = huawei_gateway(platform_config, redis_client, clock)
        body = CreateBody("huawei", device, "Valve", "SET", {"open": 1}, expire_in_s=86_400,
                          stale_after_s=HOUR_S)
    else:
        gateway = onenet_gateway(platform_config, redis_client, clock)
        body = CreateBody("onenet", device, "", "WRITE", WRITE, expire_in_s=86_400,
                          stale_after_s=HOUR_S)
    return create_command(store, gateway, platform_config, body, clock).command_id


def _gateway(platform: str, platform_config, redis_client):
    build = huawei_gateway if platform == "huawei" else onenet_gateway
    return build(platform_config, redis_client, system_clock)


@pytest.mark.parametrize("platform,device,word", [
    ("onenet", IMEI, "2"), ("huawei", "dev-vocab", "CANCELED")])
@pytest.mark.parametrize("fresh_too", [False, True], ids=["bulk", "one_by_one"])
def test_a_revoked_command_carries_its_platforms_cancelled_status(
        store, platform_config, redis_client, emu, platform, device, word,  # noqa: F811
        fresh_too):
    emu.client.add_device(platform, device, wake_period_s=0)
    stale = _create(store, platform_config, redis_client, platform, device, 2 * HOUR_S)
    if fresh_too:  # a fresh PENDING command too: the stale one is cancelled on its own
        _create(store, platform_config, redis_client, platform, device, 0)
    gateway = _gateway(platform, platform_config, redis_client)

    result = revoke.revoke_device(store, gateway, device, system_clock)
    if result.task:  # Huawei's cancel task: let it run, then look
        emu.client.advance(10)
        result = revoke.follow_task(store, gateway, result.task, system_clock)

    assert result.canceled == [stale] and result.bulk is not fresh_too
    record = store.get(platform, stale)
    assert (record["state"], record["platform_status"]) == ("CANCELED", word)
    last = record["timeline"][-1]
    assert (last["state"], last["source"], last["platform_status"], last["applied"]) == (
        "CANCELED", "revoke", word, True)
    assert gateway.canceled_status == word

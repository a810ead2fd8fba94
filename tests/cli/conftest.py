"""The CLI under click's test runner, with the environment pointing at the test Redis (and, for
platform commands, at the emulator); helpers that put commands on both sides."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from cli.session import Session
from cmdkeeper.clock import system_clock
from cmdkeeper.config import Config
from emulator.testing import RunningEmulator
from platforms.factory import huawei_gateway, onenet_gateway
from store.commands import CommandStore
from tests.e2e.conftest import emu, emulator  # noqa: F401  (the emulator fixtures)
from workers.create import CreateBody, create_command

#: Variables a developer's shell may hold that would change what the CLI sees.
PLATFORM_VARIABLES = ("HUAWEI_BASE_URL", "HUAWEI_APP_ID", "HUAWEI_SECRET", "ONENET_BASE_URL",
                      "ONENET_API_KEY", "ONENET_PUSH_TOKEN", "ONENET_AES_KEY", "STALE_AFTER_S",
                      "RECONCILE_AFTER_S", "SWEEP_INTERVAL_S", "BROKER_URL", "IOTDA_ENDPOINT",
                      "IOTDA_PROJECT_ID", "IOTDA_AK", "IOTDA_SK", "IOTDA_INSTANCE_ID",
                      "IOTDA_WEBHOOK_TOKEN", "IOTDA_IN_FLIGHT_PER_DEVICE")

Run = Callable[..., Result]


@pytest.fixture
def run(redis_url: str, redis_client, tmp_path: Path) -> Run:
    """`run("commands", "huawei", "d1", HUAWEI_BASE_URL=...)`: invoke the CLI, REDIS_URL set."""

    def invoke(*args: str, input: str | None = None, **env: str) -> Result:
        full_env = {**{name: None for name in PLATFORM_VARIABLES}, "REDIS_URL": redis_url,
                    "CMDKEEPER_VAR_DIR": str(tmp_path / "var"), **env}
        return CliRunner().invoke(cli, list(args), env=full_env, input=input, obj=Session())

    return invoke


@pytest.fixture
def huawei_env(emu: RunningEmulator) -> dict[str, str]:  # noqa: F811
    return {"HUAWEI_BASE_URL": emu.url, "HUAWEI_APP_ID": "demo-app",
            "HUAWEI_SECRET": "demo-secret"}


@pytest.fixture
def platform_config(config: Config, emu: RunningEmulator) -> Config:  # noqa: F811
    # callbacks to a closed local port fail at once: none reaches cmdkeeper
    return config.with_(huawei_base_url=emu.url, huawei_app_id="demo-app",
                        huawei_secret="demo-secret", onenet_base_url=emu.url,
                        onenet_api_key="demo-onenet-key", public_url="http://127.0.0.1:9")


@pytest.fixture
def create_on_platform(platform_config: Config, redis_client, store: CommandStore):
    """`create(device, age_s=0, stale_after_s=3600, platform="huawei")`: a command created on
    the emulator and recorded, as if created `age_s` seconds ago (so it may already be stale)."""

    def create(device_id: str, *, age_s: float = 0, stale_after_s: int = 3600,
               platform: str = "huawei") -> str:
        def clock() -> int:
            return system_clock() - int(age_s * 1000)

        if platform == "huawei":
            gateway = huawei_gateway(platform_config, redis_client, clock)
            body = CreateBody("huawei", device_id, "Valve", "SET", {"open": 1},
                              expire_in_s=86_400, stale_after_s=stale_after_s)
        else:
            gateway = onenet_gateway(platform_config, redis_client, clock)
            body = CreateBody("onenet", device_id, "", "WRITE", {
                "obj_id": 3311, "obj_inst_id": 0, "mode": 1,
                "data": [{"res_id": 5850, "val": True}]}, expire_in_s=86_400,
                stale_after_s=stale_after_s)
        return create_command(store, gateway, platform_config, body, clock).command_id

    return create


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def queued_jobs(redis_client) -> list[tuple[str, tuple, dict]]:
    """Every message waiting on the actors' queues, as (actor, args, kwargs), sorted."""
    from dramatiq import Message

    from store import keys
    from workers import actors
    from workers.broker import NAMESPACE

    jobs = []
    for queue in sorted({a.queue_name for a in (actors.apply_event, actors.revoke_device,
                                                 actors.follow_cancel_task,
                                                 actors.reconcile_device)}):
        ids = redis_client.lrange(keys.dramatiq_queue(NAMESPACE, queue), 0, -1)
        if ids:
            bodies = redis_client.hmget(keys.dramatiq_queue_messages(NAMESPACE, queue), ids)
            for body in bodies:
                m = Message.decode(body.encode())
                jobs.append((m.actor_name, m.args, m.kwargs))
    return sorted(jobs, key=repr)

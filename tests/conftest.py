"""Shared fixtures: a real Redis server per test session, an emptied database per test, a manual
clock, and the Flask app and client built on them.

Set TEST_REDIS_URL to run against an existing server instead (its database is flushed before
every test, so never point it at data you care about).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from cmdkeeper.clock import ManualClock
from cmdkeeper.config import Config
from cmdkeeper.metric_names import count_applied
from dev.procs import start_redis
from store import connection, keys
from store.commands import CommandStore

API_TOKEN = "test-api-token-6f1e"
WEBHOOK_TOKEN = "test-webhook-token-92ab"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    server = start_redis(Path(tmp_path_factory.mktemp("redis")))
    yield server.url
    server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> redis.Redis:
    client = connection.client(redis_url)
    client.flushdb()
    return client


@pytest.fixture
def config(redis_url: str, tmp_path: Path) -> Config:
    return Config(
        redis_url=redis_url,
        api_token=API_TOKEN,
        webhook_token=WEBHOOK_TOKEN,
        public_url="http://cmdkeeper.test",
        var_dir=tmp_path / "var",
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(redis_client: redis.Redis, config: Config) -> CommandStore:
    return CommandStore(redis_client, reconcile_after_s=config.reconcile_after_s,
                        on_applied=count_applied)


@pytest.fixture
def app(config: Config, clock: ManualClock, redis_client: redis.Redis):
    from app import create_app

    return create_app(config, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_TOKEN}"}


def state_keys(redis_client: redis.Redis) -> list[str]:
    """Every key but the metrics, which this process's flusher thread writes whenever it wakes
    (app.create_app starts it): what "changes nothing" is about."""
    return [k for k in redis_client.scan_iter(count=1000)
            if not k.startswith(keys.METRIC_COUNTERS)]

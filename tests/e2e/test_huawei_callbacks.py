"""End to end: gunicorn (`web`) and a dramatiq `worker` as real processes on a real Redis.

Given 50 commands (40 created through the store as the API would, 10 never seen), when 500
callbacks for them arrive over HTTP, shuffled, with duplicates and both body formats, then every
command ends in the state its highest-ranked event implies, with a full timeline.
"""

from __future__ import annotations

import pytest
import requests

from dev.procs import start_gunicorn, start_worker, wait_until
from tests import callback_burst
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN


@pytest.fixture
def services(redis_client, redis_url, tmp_path):
    env = {"REDIS_URL": redis_url, "CMDKEEPER_API_TOKEN": API_TOKEN,
           "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "WEB_CONCURRENCY": "2"}
    web = start_gunicorn("app:create_app()", env, log=tmp_path / "web.log")
    worker = start_worker(env, threads=4, log=tmp_path / "worker.log")
    yield web
    worker.stop()
    web.stop()


def test_a_shuffled_burst_with_duplicates_converges(services, store):
    burst = callback_burst.prepare(store, seed=7)
    answers = burst.post(f"{services.url}/webhooks/huawei/{WEBHOOK_TOKEN}")
    assert all(a.status_code == 200 for a in answers)
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("accepted") == len(burst.distinct)
    assert statuses.count("duplicate") == callback_burst.SENDS - len(burst.distinct)

    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    def converged() -> bool:
        return burst.converged(
            lambda cmd: http_get(f"{services.url}/api/v1/commands/huawei/{cmd}", auth))

    wait_until(converged, timeout_s=60, what="all commands converged", interval_s=0.2)
    created = http_get(f"{services.url}/api/v1/commands/huawei/cmd00", auth)
    assert created["timeline"][0]["source"] == "api"
    unknown = http_get(f"{services.url}/api/v1/commands/huawei/cmd45", auth)
    assert unknown["origin"] == "unknown"


def test_chunked_oversize_body_is_413_over_real_http(services):
    def chunks():
        yield b'{"deviceId": "d1", "pad": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    r = requests.post(f"{services.url}/webhooks/huawei/{WEBHOOK_TOKEN}", data=chunks(),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413


def http_get(url: str, headers: dict) -> dict | None:
    r = requests.get(url, headers=headers, timeout=5)
    return r.json() if r.status_code == 200 else None

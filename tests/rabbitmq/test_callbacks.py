"""End to end on the RabbitMQ broker: gunicorn (`web`) and a dramatiq `worker` as real processes,
jobs through a real RabbitMQ (BROKER_URL=amqp://...), state in Redis.

Given 50 commands (40 known, 10 never seen), when 500 callbacks for them arrive shuffled, with
duplicates and both body formats, then every command ends in the state its last event implies
with a full timeline, exactly as on the Redis broker. And when RabbitMQ cannot be reached, a
callback is answered 503 and left unmarked, so the platform's retry is accepted once it is back.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from dev.procs import start_gunicorn, start_worker, wait_until
from store import keys
from tests import callback_burst
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN

#: OneNET waits 5 s for an answer: a RabbitMQ that is away must be answered faster.
PLATFORM_PATIENCE_S = 5


def env(redis_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "BROKER_URL": broker_url, "CMDKEEPER_API_TOKEN": API_TOKEN,
            "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "WEB_CONCURRENCY": "2", **extra}


@pytest.fixture
def started(redis_client, tmp_path: Path):
    procs = []

    def start(kind: str, environment: dict[str, str]):
        if kind == "web":
            p = start_gunicorn("app:create_app()", environment, log=tmp_path / "web.log")
        else:
            p = start_worker(environment, threads=4, log=tmp_path / "worker.log")
        procs.append(p)
        return p

    yield start
    for p in reversed(procs):
        p.stop()


def test_a_shuffled_burst_with_duplicates_converges(started, store, redis_client, redis_url,
                                                    rabbitmq_url):
    web = started("web", env(redis_url, rabbitmq_url))
    started("worker", env(redis_url, rabbitmq_url))
    burst = callback_burst.prepare(store, seed=11)
    answers = burst.post(f"{web.url}/webhooks/huawei/{WEBHOOK_TOKEN}")
    assert [a.status_code for a in answers] == [200] * callback_burst.SENDS
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("accepted") == len(burst.distinct)
    assert statuses.count("duplicate") == callback_burst.SENDS - len(burst.distinct)
    assert not list(redis_client.scan_iter("dramatiq:*")), \
        "the jobs went through RabbitMQ: no queue, no worker heartbeat in Redis"

    def converged() -> bool:
        return burst.converged(lambda cmd: store.get("huawei", cmd))

    wait_until(converged, timeout_s=60, what="all commands converged", interval_s=0.2)
    assert store.get("huawei", "cmd00")["timeline"][0]["source"] == "api"
    assert store.get("huawei", "cmd45")["origin"] == "unknown"


def test_rabbitmq_away_is_503_and_the_retry_is_accepted_later(started, store, redis_client,
                                                               redis_url, rabbitmq_url, relay,
                                                               tmp_path: Path):
    # the web reaches RabbitMQ through the relay; the worker directly
    web = started("web", env(redis_url, relay.url(rabbitmq_url), WEB_CONCURRENCY="1"))
    started("worker", env(redis_url, rabbitmq_url, LOG_LEVEL="DEBUG"))
    url = f"{web.url}/webhooks/huawei/{WEBHOOK_TOKEN}"

    def post(command: str, request_id: str = "") -> requests.Response:
        headers = {"X-Request-ID": request_id} if request_id else {}
        return requests.post(url, json={"deviceId": "dev-1", "commandId": command,
                                        "result": {"resultCode": "SENT"}},
                             headers=headers, timeout=30)

    def applied(command: str) -> bool:
        return (store.get("huawei", command) or {}).get("state") == "SENT"

    assert post("before").json() == {"status": "accepted"}
    wait_until(lambda: applied("before"), 30, "the first event applied", interval_s=0.1)

    relay.cut()
    for _ in range(2):  # the second is the platform's retry: not a "duplicate"
        started_at = time.monotonic()
        refused = post("during")
        assert refused.status_code == 503, refused.text
        assert time.monotonic() - started_at < PLATFORM_PATIENCE_S
        assert refused.json()["error"]["code"] == "service_unavailable"
        assert refused.headers["Retry-After"] == "5"
        assert not redis_client.exists(keys.dedupe("huawei", "dev-1", "during", "SENT")), \
            "the dedupe mark was taken back"
    assert store.get("huawei", "during") is None

    relay.restore()
    assert post("during", request_id="retry-1").json() == {"status": "accepted"}
    assert post("during").json() == {"status": "duplicate"}
    assert post("before").json() == {"status": "duplicate"}
    wait_until(lambda: applied("during"), 30, "the retried event applied", interval_s=0.1)

    def logged_with_its_id() -> bool:
        lines = (tmp_path / "worker.log").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        return any(r["message"].startswith("event applied: huawei during") and
                   r.get("request_id") == "retry-1" for r in records)

    wait_until(logged_with_its_id, 10, "the request id travels through RabbitMQ too")

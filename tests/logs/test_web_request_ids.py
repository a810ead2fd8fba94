"""Request ids in the web process: on every answer, on every log line of the request, and in
every message the request enqueues (the webhook's own Redis ingest and `actor.send` alike).

Given the app on a real Redis, when requests arrive with a sane, a hostile or no X-Request-ID,
then each answer carries the kept or a fresh id, and what the request logs and enqueues has it.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from dramatiq import Message

from store import keys
from store.commands import NewCommand
from tests.conftest import WEBHOOK_TOKEN
from workers import actors, broker

HOOK = f"/webhooks/huawei/{WEBHOOK_TOKEN}"


def callback(command: str) -> dict:
    return {"deviceId": "dev-1", "commandId": command,
            "result": {"resultCode": "SENT", "resultDetail": None}}


def queued(redis_client) -> list[Message]:
    stored = redis_client.hgetall(keys.dramatiq_queue_messages(broker.NAMESPACE, actors.QUEUE))
    return [Message.decode(data.encode() if isinstance(data, str) else data)
            for data in stored.values()]


@pytest.fixture
def config(config):
    """Huawei configured (never called: the views under test only enqueue)."""
    return config.with_(huawei_base_url="http://127.0.0.1:9", huawei_app_id="app",
                        huawei_secret="huawei-secret")


@pytest.fixture
def log_lines(app):
    """What the app's log handler writes, as parsed JSON lines."""
    out = io.StringIO()
    logging.getLogger().handlers[0].setStream(out)
    return lambda: [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_sane_id_is_echoed_and_carried_into_the_queued_message(client, redis_client):
    r = client.post(HOOK, json=callback("cmd-1"), headers={"X-Request-ID": "abc123"})
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "abc123"
    [message] = queued(redis_client)
    assert message.options[broker.REQUEST_ID_OPTION] == "abc123"
    assert message.kwargs["event"]["command_id"] == "cmd-1"


def test_a_hostile_id_is_replaced_by_a_fresh_one(client, redis_client):
    hostile = 'x", "level": "CRITICAL'
    r = client.post(HOOK, json=callback("cmd-2"), headers={"X-Request-ID": hostile})
    fresh = r.headers["X-Request-ID"]
    assert r.status_code == 200 and fresh != hostile and len(fresh) == 32
    [message] = queued(redis_client)
    assert message.options[broker.REQUEST_ID_OPTION] == fresh


def test_every_answer_has_an_id_errors_too(client, auth):
    answers = [client.get("/no/such/path"), client.post(HOOK, data="{broken",
                                                        content_type="application/json"),
               client.get("/api/v1/commands/huawei/x"), client.get("/healthz")]
    ids = [a.headers.get("X-Request-ID") for a in answers]
    assert [a.status_code for a in answers] == [404, 400, 401, 200]
    assert all(ids) and len(set(ids)) == len(ids), "a fresh id per request"


def test_jobs_sent_by_a_request_carry_its_id(client, auth, redis_client, store):
    # (a device cmdkeeper holds a command of: for any other, the API answers 404)
    store.create_command(NewCommand("huawei", "dev-9", "c1", "Valve", "SET", {}, 1, 2))
    r = client.post("/api/v1/devices/huawei/dev-9/reconcile",
                    headers={**auth, "X-Request-ID": "op-42"})
    assert r.status_code == 202
    [message] = queued(redis_client)
    assert message.actor_name == "reconcile_device"
    assert message.options[broker.REQUEST_ID_OPTION] == "op-42"


def test_every_line_a_request_logs_has_its_id(app, client, log_lines):
    @app.get("/_test/log")
    def log_twice():
        logging.getLogger("cmdkeeper.test").info("first")
        logging.getLogger("werkzeug.test").warning("second")
        return {}

    client.get("/_test/log", headers={"X-Request-ID": "req-7"})
    logging.getLogger("cmdkeeper.test").info("after the request")

    first, second, after = log_lines()
    assert first["request_id"] == second["request_id"] == "req-7"
    assert first["role"] == "web"
    assert "request_id" not in after, "the id does not outlive its request"

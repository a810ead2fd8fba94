"""The fleet page names what became of callbacks not taken in the last hour, and the device page
draws a status cmdkeeper does not know: both built from real requests to the webhooks."""

from __future__ import annotations

import json
import re
import time

import pytest

from cmdkeeper.clock import ManualClock
from cmdkeeper.metrics import RECORDER
from platforms import onenet_push
from store.commands import NewCommand
from store.metrics_flush import flush_now
from tests.conftest import WEBHOOK_TOKEN
from tests.dashboard.test_pages import section, signed_in
from workers.events import apply_event

PUSH_TOKEN = "alarm-push-token"
QUEUE = "dramatiq:cmdkeeper"


@pytest.fixture
def clock() -> ManualClock:
    # "the last hour" is counted in per-minute buckets of the real time
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
def app(config, clock, redis_client):
    from app import create_app

    RECORDER.drain()  # an earlier test's counting is not this one's
    return create_app(config.with_(onenet_push_token=PUSH_TOKEN), clock=clock)


def alarm(page: str, alarm_id: str) -> str:
    start = page.index(f'id="{alarm_id}"')
    return " ".join(page[start:page.index("</p>", start)].split())


def test_pushes_that_failed_their_signature_raise_an_alarm_naming_the_settings(
        client, store, clock):
    msg = {"type": 7, "cmd_id": "u1", "imei": "8658", "send_status": 5, "confirm_status": 0}
    forged = onenet_push.build_push_body(msg, "a-typo-of-the-token")
    for _ in range(3):
        assert client.post("/webhooks/onenet", data=forged,
                           content_type="application/json").json["status"] == "ignored"
    assert client.post("/webhooks/huawei/not-the-token", json={}).status_code == 404
    flush_now(store.client)

    page = signed_in(client, clock).get("/").get_data(as_text=True)

    assert ("OneNET pushes failed their signature in the last hour: check ONENET_PUSH_TOKEN / "
            "ONENET_AES_KEY (3 not taken).") in alarm(page, "rejected-onenet-bad_signature")
    assert "CMDKEEPER_WEBHOOK_TOKEN" in alarm(page, "rejected-huawei-not_found")
    assert page.index("rejected-onenet-bad_signature") < page.index("rejected-huawei-not_found")
    assert PUSH_TOKEN not in page


def test_a_quiet_hour_raises_no_callback_alarm(client, store, clock):
    page = signed_in(client, clock).get("/").get_data(as_text=True)
    assert 'id="rejected-' not in page and 'id="unknown-' not in page


def test_an_unknown_status_is_an_alarm_and_a_step_of_its_own_on_the_device_page(
        client, store, clock, redis_client):
    now = clock()
    store.create_command(NewCommand("huawei", "dev-u", "c-u", "Valve", "SET", {"open": 1}, now,
                                    now + 3_600_000))
    url = f"/webhooks/huawei/{WEBHOOK_TOKEN}"
    body = {"deviceId": "dev-u", "commandId": "c-u",
            "result": {"resultCode": "<b>QUEUED</b>", "resultDetail": None}}
    assert client.post(url, json=body).json == {"status": "accepted"}
    for message_id in redis_client.lrange(QUEUE, 0, -1):  # what a worker does
        message = json.loads(redis_client.hget(QUEUE + ".msgs", message_id))
        apply_event(store, message["kwargs"]["event"], clock)
    flush_now(store.client)
    signed_in(client, clock)

    fleet = client.get("/").get_data(as_text=True)
    device = client.get("/devices/huawei/dev-u").get_data(as_text=True)

    assert "Huawei callbacks reported 1 status(es) cmdkeeper does not know" in alarm(
        fleet, "unknown-huawei")
    command = section(device, "c-u")
    assert '<span class="badge final PENDING">PENDING</span>' in command
    assert re.findall(r'<span class="dot badge (\w+)">([^<]+)</span>', command) == [
        ("PENDING", "PENDING"), ("unknown", "?")]
    assert ("callback · unknown status <code>&lt;b&gt;QUEUED&lt;/b&gt;</code>, not applied; "
            "history re-checked") in command
    assert "The platform last reported &#39;&lt;b&gt;QUEUED&lt;/b&gt;&#39;, a status cmdkeeper " \
           "does not know" in command
    assert "<b>QUEUED</b>" not in device

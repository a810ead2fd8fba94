"""`POST /webhooks/huawei/<token>`: each rejection has its status and enqueues nothing; an
accepted callback is enqueued exactly once; a status cmdkeeper does not know is accepted too,
and the worker keeps it as not applied and reconciles its device."""

from __future__ import annotations

import io
import json

import pytest

from store import keys
from tests.conftest import WEBHOOK_TOKEN
from workers.events import apply_event

URL = f"/webhooks/huawei/{WEBHOOK_TOKEN}"
QUEUE = "dramatiq:cmdkeeper"


def v1(code="DELIVERED", device="d1", command="c1"):
    return {"deviceId": device, "commandId": command,
            "result": {"resultCode": code, "resultDetail": None}}


def v5(status="SUCCESSFUL", device="d1", command="c1", event_time="20240105T101530Z"):
    return {
        "resource": "device.command.status", "event": "update", "event_time": event_time,
        "request_id": "r1",
        "notify_data": {"header": {"app_id": "a", "device_id": device, "node_id": "n"},
                        "body": {"command_id": command, "status": status, "result": {}}},
    }


def queued(redis_client) -> list[dict]:
    ids = redis_client.lrange(QUEUE, 0, -1)
    return [json.loads(redis_client.hget(QUEUE + ".msgs", i))["kwargs"]["event"] for i in ids]


def test_v1_callback_is_accepted_and_enqueued(client, redis_client, clock):
    response = client.post(URL, json=v1())
    assert response.status_code == 200
    assert response.json == {"status": "accepted"}
    [event] = queued(redis_client)
    assert event == {"platform": "huawei", "device_id": "d1", "command_id": "c1",
                     "state": "DELIVERED", "platform_status": "DELIVERED",
                     "at_ms": clock.now_ms, "source": "callback", "attempt": 0}


def test_v5_callback_uses_the_platform_event_time(client, redis_client):
    assert client.post(URL, json=v5()).status_code == 200
    [event] = queued(redis_client)
    assert (event["state"], event["at_ms"]) == ("SUCCEEDED", 1704449730000)


def test_default_is_accepted_as_pending(client, redis_client):
    assert client.post(URL, json=v1("DEFAULT")).status_code == 200
    assert queued(redis_client)[0]["state"] == "PENDING"


def test_a_repushed_callback_is_acknowledged_but_not_enqueued_twice(client, redis_client):
    assert client.post(URL, json=v1()).json == {"status": "accepted"}
    again = client.post(URL, json=v1())
    assert again.status_code == 200 and again.json == {"status": "duplicate"}
    assert len(queued(redis_client)) == 1
    assert client.post(URL, json=v1("SUCCESSFUL")).json == {"status": "accepted"}
    assert len(queued(redis_client)) == 2


def test_wrong_token_is_404(client, redis_client):
    response = client.post("/webhooks/huawei/not-the-token", json=v1())
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert WEBHOOK_TOKEN not in response.get_data(as_text=True)
    assert queued(redis_client) == []


@pytest.mark.parametrize("body,needle", [
    (b"{not json", "not valid JSON"),
    (b"", "empty"),
    (b"[1, 2]", "JSON object"),
    (json.dumps(v1() | {"deviceId": None}).encode(), "deviceId"),
    (json.dumps(v1() | {"commandId": ""}).encode(), "commandId"),
    (json.dumps(v1() | {"commandId": "c 1}"}).encode(), "commandId"),
    (json.dumps(v5(device="")).encode(), "device_id"),
    (json.dumps(v5() | {"notify_data": {"header": {"device_id": "d1"}}}).encode(),
     "notify_data.body"),
    (json.dumps({"resource": "device.message.report"}).encode(), "resource"),
    (b"\xff\xfe\x00", "not valid JSON"),
])
def test_bodies_without_valid_ids_are_400_naming_the_problem(client, redis_client, body,
                                                             needle):
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400
    assert needle in response.json["error"]["message"]
    assert queued(redis_client) == []


@pytest.mark.parametrize("body,state", [
    (v1("SUCCESS"), "SUCCEEDED"), (v1("FAIL"), "FAILED"),
    (v5("SUCCESS"), "SUCCEEDED"), (v5("FAIL"), "FAILED"),
])
def test_the_sdk_spellings_success_and_fail_are_understood(client, redis_client, body, state):
    assert client.post(URL, json=body).json == {"status": "accepted"}
    [event] = queued(redis_client)
    assert (event["state"], event["platform_status"]) == (state, body.get("result", {}).get(
        "resultCode") or body["notify_data"]["body"]["status"])


@pytest.mark.parametrize("body,kept", [
    (v1("WAITING_FOR_GATEWAY"), "WAITING_FOR_GATEWAY"),
    (v1() | {"result": {"resultCode": 5}}, "5"),
    (v1() | {"result": {"resultCode": "a,b;c"}}, "a_b_c"),
    ({"deviceId": "d1", "commandId": "c1"}, "null"),
    (v5("NOPE"), "NOPE"),
])
def test_an_unknown_status_with_valid_ids_is_accepted_without_a_state(client, redis_client,
                                                                      body, kept):
    response = client.post(URL, json=body)
    assert response.status_code == 200 and response.json == {"status": "accepted"}
    [event] = queued(redis_client)
    assert (event["state"], event["platform_status"]) == (None, kept)
    assert (event["device_id"], event["command_id"]) == ("d1", "c1")


def test_the_worker_keeps_an_unknown_status_unapplied_and_reconciles_the_device(
        client, redis_client, store, clock):
    client.post(URL, json=v1("SENT"))
    client.post(URL, json=v1("QUEUED"))
    for message in queued(redis_client):
        apply_event(store, message, clock)

    record = store.get("huawei", "c1")
    assert record["state"] == "SENT"
    assert [(e["state"], e["platform_status"], e["applied"]) for e in record["timeline"]] == [
        ("SENT", "SENT", True), (None, "QUEUED", False)]
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == clock()


def test_an_unparseable_v5_event_time_falls_back_to_the_receipt_time(client, redis_client,
                                                                     clock):
    assert client.post(URL, json=v5(event_time="yesterday")).status_code == 200
    assert queued(redis_client)[0]["at_ms"] == clock.now_ms


def test_body_over_64_kib_is_413(client, redis_client):
    body = v1() | {"padding": "x" * (64 * 1024)}
    response = client.post(URL, json=body)
    assert response.status_code == 413
    assert response.json["error"]["code"] in ("too_large", "request_entity_too_large")
    assert queued(redis_client) == []


def test_body_over_64_kib_without_a_length_is_413(client, redis_client):
    # a chunked upload: no Content-Length, the server reads until the stream ends
    stream = io.BytesIO(b'{"deviceId": "d1", "pad": "' + b"x" * 80 * 1024 + b'"}')
    response = client.post(URL, input_stream=stream, content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert queued(redis_client) == []


def test_get_is_405_as_json(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert "error" in response.json

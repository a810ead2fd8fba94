"""`POST /webhooks/iotda/<token>`: the rule-engine push of `device.command.status`, in the body
the emulator sends (emulator/iotda_state.py `_push_body`). IoTDA discards a push not answered
200 and blocklists the host after 10 failures, so only what cmdkeeper can never use is refused;
the push names the platform's id, which the worker maps to cmdkeeper's record."""

from __future__ import annotations

import json

import pytest

from app import create_app
from store import keys
from store.commands import NewCommand
from store.model import HELD_STATUS
from tests.conftest import WEBHOOK_TOKEN
from workers.events import apply_event

TOKEN = "iotda-path-token-4c1d"
URL = f"/webhooks/iotda/{TOKEN}"
QUEUE = "dramatiq:cmdkeeper"
DEVICE = "demo-product_869975031234561"


def push(status: str = "SENT", command: str = "p-1", device: str = DEVICE, **extra) -> dict:
    """A push as the emulator's rule engine sends it."""
    return {
        "resource": "device.command.status", "event": "update",
        "event_time": "20240105T101530Z", "event_time_ms": "2024-01-05T10:15:30.123Z",
        "request_id": "7f0c", **extra,
        "notify_data": {
            "header": {"app_id": "demo-iotda-app", "device_id": device,
                       "node_id": "869975031234561", "product_id": "demo-product",
                       "gateway_id": device, "tags": []},
            "body": {"command_id": command, "status": status, "service_id": "Valve",
                     "command_name": "SET_STATE", "paras": {"state": 1}, "result": None,
                     "created_time": "20240105T101500Z", "sent_time": "20240105T101530Z",
                     "expire_time": 600, "send_strategy": "delay"}},
    }


@pytest.fixture
def iotda_config(config):
    return config.with_(iotda_webhook_token=TOKEN)


@pytest.fixture
def client(iotda_config, clock, redis_client):
    return create_app(iotda_config, clock=clock).test_client()


def queued(redis_client) -> list[dict]:
    ids = redis_client.lrange(QUEUE, 0, -1)
    return [json.loads(redis_client.hget(QUEUE + ".msgs", i))["kwargs"]["event"] for i in ids]


def test_a_push_is_enqueued_as_an_iotda_event_at_the_platforms_time(client, redis_client):
    response = client.post(URL, json=push())
    assert (response.status_code, response.json) == (200, {"status": "accepted"})
    assert queued(redis_client) == [{
        "platform": "iotda", "device_id": DEVICE, "command_id": "p-1", "state": "SENT",
        "platform_status": "SENT", "at_ms": 1704449730000, "source": "callback", "attempt": 0}]
    assert client.post(URL, json=push()).json == {"status": "duplicate"}  # a re-push
    assert len(queued(redis_client)) == 1


def test_the_worker_applies_it_to_the_record_cmdkeeper_named(client, redis_client, store,
                                                             clock):
    store.create_command(NewCommand("iotda", DEVICE, "ck-1", "Valve", "SET_STATE", {},
                                    clock(), clock() + 60_000, platform_command_id="p-1"),
                         in_flight_limit=1)
    client.post(URL, json=push("SUCCESSFUL"))
    applied = apply_event(store, queued(redis_client)[0], clock)
    assert applied.release  # its place in flight is free
    assert store.get("iotda", "ck-1")["state"] == "SUCCEEDED"
    assert store.get("iotda", "p-1") is None


def test_a_wrong_or_unset_token_is_404(client, config, clock, redis_client):
    assert client.post("/webhooks/iotda/nope", json=push()).status_code == 404
    # unset, the Huawei callbacks' token serves
    fallback = create_app(config, clock=clock).test_client()
    assert fallback.post(f"/webhooks/iotda/{WEBHOOK_TOKEN}", json=push()).status_code == 200
    assert fallback.post(URL, json=push()).status_code == 404
    assert len(queued(redis_client)) == 1


@pytest.mark.parametrize("body,needle", [
    (b"{not json", "not valid JSON"),
    (json.dumps(push(device="")).encode(), "device_id"),
    (json.dumps(push(command="a b")).encode(), "command_id"),
    (json.dumps(push() | {"notify_data": {"header": {"device_id": DEVICE}}}).encode(),
     "notify_data.body"),
])
def test_only_bodies_without_valid_ids_are_refused(client, redis_client, body, needle):
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400 and needle in response.json["error"]["message"]
    assert queued(redis_client) == []


@pytest.mark.parametrize("status,kept", [("QUEUED", "QUEUED"), (None, "null"),
                                         ("CANCELED", "CANCELED")])
def test_a_status_iotda_does_not_document_is_taken_without_a_state(client, redis_client,
                                                                   status, kept):
    assert client.post(URL, json=push(status)).json == {"status": "accepted"}
    [event] = queued(redis_client)
    assert (event["state"], event["platform_status"]) == (None, kept)


def test_another_resource_is_answered_200_and_ignored(client, redis_client):
    response = client.post(URL, json={"resource": "device.message", "event": "report",
                                      "notify_data": {}})
    assert response.status_code == 200
    assert (response.json["status"], response.json["reason"]) == (
        "ignored", "unsupported_resource")
    assert queued(redis_client) == []


def test_a_verifier_when_given_decides_and_a_refused_push_is_ignored(iotda_config, clock,
                                                                      redis_client):
    seen = []

    def verify(headers, raw: bytes) -> bool:
        seen.append(raw)
        return headers.get("X-Test-Sign") == "ok"

    client = create_app(iotda_config, clock=clock, iotda_push_verifier=verify).test_client()
    refused = client.post(URL, json=push())
    assert (refused.status_code, refused.json["reason"]) == (200, "bad_signature")
    assert client.post(URL, json=push(), headers={"X-Test-Sign": "ok"}).json == {
        "status": "accepted"}
    assert len(queued(redis_client)) == 1 and json.loads(seen[0])["request_id"] == "7f0c"


def test_a_push_for_another_clients_command_makes_its_record_and_asks_for_history(
        client, redis_client, store, clock):
    store.create_command(NewCommand("iotda", DEVICE, "ck-2", "Valve", "SET_STATE", {},
                                    clock(), clock() + 60_000, platform_status=HELD_STATUS))
    client.post(URL, json=push("SENT", command="other-app-cmd"))
    apply_event(store, queued(redis_client)[0], clock)
    assert store.get("iotda", "other-app-cmd")["origin"] == "unknown"
    assert store.get("iotda", "ck-2")["platform_status"] == HELD_STATUS
    assert redis_client.zscore(keys.DUE_RECONCILE, f"iotda:{DEVICE}") == clock()

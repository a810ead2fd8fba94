"""The read side of `/api/v1` and `/healthz`: bearer auth, records with timelines, listings."""

from __future__ import annotations

import pytest

from api import openapi
from store.commands import NewCommand
from store.model import Event, Source, State
from tests.conftest import API_TOKEN

T0 = 1_700_000_000_000


@pytest.fixture
def two_commands(store):
    for i, cmd in enumerate(("c1", "c2")):
        store.create_command(NewCommand(
            platform="huawei", device_id="d1", command_id=cmd, service_id="Valve",
            method="SET", paras={"state": i}, created_ms=T0 + i, stale_at_ms=T0 + 3_600_000))
    store.apply_event(Event("huawei", "d1", "c1", State.SENT, "SENT", T0 + 10, Source.CALLBACK),
                      T0 + 10)


@pytest.mark.parametrize("path", [
    "/api/v1/commands/huawei/c1", "/api/v1/devices/huawei/d1/commands",
])
@pytest.mark.parametrize("header", [
    None, "Bearer wrong-token", f"Basic {API_TOKEN}", "Bearer", f"Bearer {API_TOKEN}x",
])
def test_every_route_needs_the_bearer_token(client, two_commands, path, header):
    headers = {"Authorization": header} if header else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_get_command_returns_the_record_with_its_timeline(client, auth, two_commands):
    response = client.get("/api/v1/commands/huawei/c1", headers=auth)
    assert response.status_code == 200
    body = response.json
    assert body["state"] == "SENT" and body["service_id"] == "Valve"
    assert body["paras"] == {"state": 0}
    assert body["created_at"] == "2023-11-14T22:13:20.000Z"
    assert body["stale_at"] == "2023-11-14T23:13:20.000Z"
    assert [(e["state"], e["source"]) for e in body["timeline"]] == [
        ("PENDING", "api"), ("SENT", "callback")]
    assert body["timeline"][1]["at"] == "2023-11-14T22:13:20.010Z"
    for name in ("replaces", "replaced_by", "expire_at", "updated_at", "platform_status"):
        assert name in body


def test_an_unknown_status_shows_as_a_timeline_entry_without_a_state(client, auth,
                                                                      two_commands, store):
    store.apply_event(Event("huawei", "d1", "c1", None, "WAITING", T0 + 20, Source.CALLBACK),
                      T0 + 20)

    body = client.get("/api/v1/commands/huawei/c1", headers=auth).json

    assert body["state"] == "SENT"
    assert body["timeline"][-1] == {"state": None, "attempt": 0, "source": "callback",
                                    "platform_status": "WAITING", "applied": False,
                                    "at": "2023-11-14T22:13:20.020Z"}
    schema = openapi.spec()["components"]["schemas"]["TimelineEntry"]["properties"]["state"]
    assert schema["nullable"] is True and None in schema["enum"]


def test_unknown_command_is_404(client, auth):
    response = client.get("/api/v1/commands/huawei/nope", headers=auth)
    assert response.status_code == 404 and "nope" in response.json["error"]["message"]


def test_unknown_platform_is_404(client, auth):
    assert client.get("/api/v1/commands/azure/c1", headers=auth).status_code == 404


def test_device_listing_with_state_filter(client, auth, two_commands):
    items = client.get("/api/v1/devices/huawei/d1/commands", headers=auth).json["items"]
    assert [i["command_id"] for i in items] == ["c2", "c1"]
    pending = client.get("/api/v1/devices/huawei/d1/commands?state=PENDING", headers=auth)
    assert [i["command_id"] for i in pending.json["items"]] == ["c2"]


@pytest.mark.parametrize("query,code", [
    ("state=LOST", "bad_state"), ("limit=0", "bad_limit"), ("limit=x", "bad_limit"),
    ("limit=100000", "bad_limit"),
])
def test_bad_listing_parameters_are_400(client, auth, query, code):
    response = client.get(f"/api/v1/devices/huawei/d1/commands?{query}", headers=auth)
    assert response.status_code == 400 and response.json["error"]["code"] == code


def test_empty_device_lists_nothing(client, auth):
    assert client.get("/api/v1/devices/huawei/none/commands", headers=auth).json == {"items": []}


def test_healthz_answers_when_redis_does(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_healthz_is_503_when_redis_is_gone(config, clock):
    from app import create_app
    from dev.procs import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(config.with_(redis_url=dead), clock=clock)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "unavailable"

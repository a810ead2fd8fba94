"""`/api/v1` write routes refuse bad input with a 400 naming the field, and change nothing."""

from __future__ import annotations

import pytest

from tests.conftest import state_keys

GOOD = {"platform": "huawei", "device_id": "d1", "service_id": "Valve", "method": "SET",
        "paras": {"state": 1}}


def nothing_changed(redis_client) -> bool:
    return state_keys(redis_client) == []


@pytest.mark.parametrize("change,needle", [
    ({"platform": "azure"}, "platform"),
    ({"platform": None}, "platform"),
    ({"device_id": ""}, "device_id"),
    ({"device_id": "a b"}, "device_id"),
    ({"service_id": 7}, "service_id"),
    ({"service_id": "x" * 65}, "service_id"),
    ({"method": ""}, "method"),
    ({"paras": [1]}, "paras"),
    ({"expire_in_s": -1}, "expire_in_s"),
    ({"expire_in_s": True}, "expire_in_s"),
    ({"expire_in_s": "60"}, "expire_in_s"),
    ({"stale_after_s": 0}, "stale_after_s"),
    ({"stale_after_s": 1.5}, "stale_after_s"),
    ({"colour": "red"}, "colour"),
    ({"platform": "onenet", "method": "SET"}, "method"),
    # IoTDA reads expire_time 0 as 24 hours and keeps a command two days at most
    ({"platform": "iotda", "expire_in_s": 0}, "expire_in_s"),
    ({"platform": "iotda", "expire_in_s": 172801}, "172800"),
    ({"platform": "iotda", "paras": {"blob": "x" * 33_000}}, "32 KB"),
    ({"platform": "iotda", "service_id": None}, "service_id"),
])
def test_bad_create_bodies_are_400(client, auth, redis_client, change, needle):
    response = client.post("/api/v1/commands", json=GOOD | change, headers=auth)
    assert response.status_code == 400
    assert needle in response.json["error"]["message"]
    assert nothing_changed(redis_client)


def test_missing_field_is_400(client, auth, redis_client):
    body = {k: v for k, v in GOOD.items() if k != "method"}
    response = client.post("/api/v1/commands", json=body, headers=auth)
    assert response.status_code == 400 and "method" in response.json["error"]["message"]


def test_create_on_an_unconfigured_platform_is_400(client, auth, redis_client):
    response = client.post("/api/v1/commands", json=GOOD, headers=auth)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "platform_not_configured"
    assert nothing_changed(redis_client)


def test_create_needs_the_token(client, redis_client):
    assert client.post("/api/v1/commands", json=GOOD).status_code == 401


@pytest.mark.parametrize("path", ["revoke", "reconcile"])
def test_device_actions_on_an_unconfigured_platform_are_400(client, auth, redis_client, path):
    response = client.post(f"/api/v1/devices/huawei/d1/{path}", json={}, headers=auth)
    assert response.status_code == 400
    assert nothing_changed(redis_client)


@pytest.mark.parametrize("body,needle", [
    ({"only_stale": "yes"}, "only_stale"), ({"force": True}, "force"),
])
def test_bad_revoke_bodies_are_400(client, auth, redis_client, body, needle):
    response = client.post("/api/v1/devices/huawei/d1/revoke", json=body, headers=auth)
    assert response.status_code == 400 and needle in response.json["error"]["message"]
    assert nothing_changed(redis_client)


@pytest.mark.parametrize("name", ["obj_id", "obj_inst_id", "res_id"])
def test_onenet_address_fields_may_not_be_null(client, auth, redis_client, name):
    paras = {"obj_id": 3311, "obj_inst_id": 0, "res_id": 5850, name: None}
    body = {"platform": "onenet", "device_id": "861", "method": "EXECUTE", "paras": paras}
    response = client.post("/api/v1/commands", json=body, headers=auth)
    assert response.status_code == 400 and name in response.json["error"]["message"]
    assert nothing_changed(redis_client)


def test_doubled_slashes_are_a_json_404(client, auth):
    response = client.get("/api/v1//commands/huawei/c1", headers=auth)
    assert response.status_code == 404 and "error" in response.json

"""Revoke and reconcile through the API: 404 for a device cmdkeeper never saw (as the CLI's exit
code 3), and for a known one a job that says the API asked, noted on the device; a create
without `paras` is refused naming it, never taken as {}."""

from __future__ import annotations

import pytest

from app import create_app
from store import actions
from store.commands import NewCommand
from tests.cli.conftest import queued_jobs
from tests.conftest import state_keys


@pytest.fixture
def client(config, clock, redis_client):
    # a configured platform (nothing is called: the jobs are only queued)
    app = create_app(config.with_(huawei_base_url="http://127.0.0.1:9", huawei_app_id="a",
                                  huawei_secret="s"), clock=clock)
    return app.test_client()


@pytest.mark.parametrize("path", ["revoke", "reconcile"])
def test_a_device_never_seen_is_404_and_nothing_is_queued(client, auth, redis_client, path):
    response = client.post(f"/api/v1/devices/huawei/ghost/{path}", json={}, headers=auth)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_device"
    assert "ghost" in response.json["error"]["message"]
    assert queued_jobs(redis_client) == []


def test_a_known_device_is_revoked_at_the_api_s_request(client, auth, redis_client, store,
                                                       clock):
    store.create_command(NewCommand("huawei", "valve-1", "c1", "Valve", "SET", {}, clock(),
                                    clock() + 60_000))
    response = client.post("/api/v1/devices/huawei/valve-1/revoke", json={"only_stale": False},
                           headers=auth)
    assert response.status_code == 202
    assert ("revoke_device", ("huawei", "valve-1", False, "api"), {}) in queued_jobs(
        redis_client)
    assert client.post("/api/v1/devices/huawei/valve-1/reconcile",
                       headers=auth).status_code == 202
    noted = [(a.by, a.action) for a in actions.read(redis_client, "huawei", "valve-1")]
    assert noted == [("api", "revoke_all"), ("api", "reconcile")]


@pytest.mark.parametrize("platform,body", [
    ("huawei", {"service_id": "Valve", "method": "SET"}),
    ("onenet", {"method": "READ"}),
])
def test_a_create_without_paras_is_400_naming_it(client, auth, redis_client, platform, body):
    response = client.post("/api/v1/commands", headers=auth,
                           json={"platform": platform, "device_id": "861", **body})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "missing_field"
    assert response.json["error"]["message"].startswith("paras is required")
    assert state_keys(redis_client) == []

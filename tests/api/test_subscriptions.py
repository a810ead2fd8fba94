"""`/api/v1/subscriptions`: create (the secret shown once), read, delete, rotate, replay, enable,
and the SSRF guard on subscriber URLs."""

from __future__ import annotations

import pytest

from store.subscriptions import SubscriptionStore

URL = "https://hooks.example.com/cmdkeeper"


@pytest.fixture
def open_client(app):
    """The app allowing any subscriber address (NOTIFY_ALLOW_INSECURE=1), as in dev."""
    from app import create_app
    from web.services import services

    with app.app_context():
        svc = services()
    return create_app(svc.config.with_(notify_allow_insecure=True), clock=svc.clock).test_client()


def test_a_subscription_shows_its_secret_once(open_client, auth):
    r = open_client.post("/api/v1/subscriptions", headers=auth,
                         json={"url": URL, "description": "billing", "platforms": ["onenet"]})

    assert r.status_code == 201
    body = r.json
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    assert (body["url"], body["description"], body["platforms"]) == (URL, "billing", ["onenet"])
    shown = open_client.get(f"/api/v1/subscriptions/{body['id']}", headers=auth).json
    assert "secret" not in shown and shown["id"] == body["id"]
    listed = open_client.get("/api/v1/subscriptions", headers=auth).json["items"]
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x",  # not https
    "https://127.0.0.1/x", "https://localhost/x", "https://10.1.2.3/x", "https://192.168.0.9/x",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://0.0.0.0/x",
    "https://user:pw@hooks.example.com/x", "ftp://hooks.example.com/x", "https:///x", "",
])
def test_the_guard_refuses_what_must_not_be_reached(client, auth, url):
    r = client.post("/api/v1/subscriptions", headers=auth, json={"url": url})
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_url", r.json
    assert client.get("/api/v1/subscriptions", headers=auth).json["items"] == []


def test_insecure_mode_allows_local_http_for_development(open_client, auth):
    r = open_client.post("/api/v1/subscriptions", headers=auth,
                         json={"url": "http://127.0.0.1:9000/hook"})
    assert r.status_code == 201


def test_bad_bodies_are_400(client, auth):
    for body in ({"url": URL, "extra": 1}, {"url": URL, "platforms": ["nokia"]},
                 {"url": URL, "platforms": ["huawei", "huawei"]},
                 {"url": URL, "description": "x" * 201}, {"url": 5}):
        assert client.post("/api/v1/subscriptions", headers=auth, json=body).status_code == 400


def test_delete_rotate_replay_and_enable(open_client, auth, redis_client, clock):
    sub = open_client.post("/api/v1/subscriptions", headers=auth, json={"url": URL}).json
    path = f"/api/v1/subscriptions/{sub['id']}"

    rotated = open_client.post(f"{path}/rotate-secret", headers=auth)
    assert rotated.status_code == 200 and rotated.json["secret"] != sub["secret"]
    # during the grace period both secrets sign
    assert SubscriptionStore(redis_client).signing_secrets(sub["id"], clock()) == [
        rotated.json["secret"], sub["secret"]]

    assert open_client.post(f"{path}/replay", headers=auth,
                            json={"since": "2026-12-01T10:00:00Z"}).status_code == 202
    for bad in ({"since": "yesterday"}, {"since": "2026-12-01T10:00:00"}, {}):
        assert open_client.post(f"{path}/replay", headers=auth, json=bad).status_code == 400

    SubscriptionStore(redis_client).disable(sub["id"], "test", clock())
    enabled = open_client.post(f"{path}/enable", headers=auth)
    assert enabled.status_code == 200 and enabled.json["enabled"] is True

    assert open_client.delete(path, headers=auth).status_code == 204
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/rotate-secret"),
                           ("POST", "/enable")):
        assert open_client.open(path + suffix, method=method, headers=auth).status_code == 404
    assert open_client.post(f"{path}/replay", headers=auth,
                            json={"since": "2026-12-01T10:00:00Z"}).status_code == 404


def test_a_public_https_address_passes_the_guard(client, auth):
    # an address literal: no DNS needed to resolve it
    r = client.post("/api/v1/subscriptions", headers=auth, json={"url": "https://8.8.8.8/hook"})
    assert r.status_code == 201 and r.json["url"] == "https://8.8.8.8/hook"

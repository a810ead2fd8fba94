"""The bearer token guards every `/api/v1` route, including routes added later.

Given every rule under /api/v1 in the app's url_map and each of its methods, when it is
requested without the token or with a wrong one (however close), then it answers 401 with the
JSON error, and changes nothing; with the token it does not answer 401.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import API_TOKEN
from tests.fuzz.hostile import snapshot

WRONG = [
    None, "", "Bearer", "Bearer ", "Bearer wrong", f"Bearer {API_TOKEN}x",
    f"Bearer {API_TOKEN[:-1]}", f"Bearer {API_TOKEN.upper()}", f"Basic {API_TOKEN}",
    f"Token {API_TOKEN}", API_TOKEN, f"Bearer{API_TOKEN}", f"Bearer {API_TOKEN} {API_TOKEN}",
    "Bearer " + "A" * 8192,
]


def api_requests(app) -> list[tuple[str, str]]:
    """(method, url) for every rule under /api/v1 and each of its methods, with path variables
    filled in with values that pass validation."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        url = re.sub(r"<(?:\w+:)?platform>", "huawei", rule.rule)
        url = re.sub(r"<(?:\w+:)?\w+>", "d1", url)
        found += [(method, url) for method in sorted(rule.methods)]
    return found


def test_the_routes_are_found(app):
    routes = {url for _, url in api_requests(app)}
    assert {"/api/v1/commands", "/api/v1/commands/huawei/d1", "/api/v1/openapi.json",
            "/api/v1/devices/huawei/d1/commands", "/api/v1/devices/huawei/d1/revoke",
            "/api/v1/devices/huawei/d1/reconcile"} <= routes


@pytest.mark.parametrize("header", WRONG)
def test_every_api_route_refuses_a_missing_or_wrong_token(app, client, redis_client, header):
    headers = {"Authorization": header} if header is not None else {}
    before = snapshot(redis_client)
    for method, url in api_requests(app):
        response = client.open(url, method=method, headers=headers, json={"only_stale": True})
        assert response.status_code == 401, (method, url, response.status_code)
        if method != "HEAD":
            assert response.json == {"error": {"code": "unauthorized",
                                               "message": "missing or wrong bearer token"}}
    assert snapshot(redis_client) == before


@pytest.mark.parametrize("where", ["query", "cookie", "form"])
def test_the_token_counts_only_in_the_authorization_header(app, client, where):
    for method, url in api_requests(app):
        if where == "query":
            response = client.open(f"{url}?access_token={API_TOKEN}&token={API_TOKEN}",
                                   method=method)
        elif where == "cookie":
            client.set_cookie("Authorization", f"Bearer {API_TOKEN}")
            response = client.open(url, method=method)
        else:
            response = client.open(url, method=method, data={"access_token": API_TOKEN})
        assert response.status_code == 401, (where, method, url)


def test_with_the_token_no_route_answers_401(app, client, auth):
    for method, url in api_requests(app):
        response = client.open(url, method=method, headers=auth, json={"only_stale": True})
        assert response.status_code != 401, (method, url, response.get_data()[:200])

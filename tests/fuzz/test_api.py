"""Property-based bad input on `/api/v1` and `/healthz` (no platform configured).

Given hostile bodies, ids, query strings and headers, when they reach each route, then no answer
is a 5xx or shows internals, every error is `{"error": {"code", "message"}}`, and a refused
request leaves Redis exactly as it was. Bodies that pass validation end in 400
platform_not_configured here; tests/fuzz/test_api_platforms.py sends them on to a platform.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from store.commands import NewCommand
from tests.conftest import API_TOKEN
from tests.fuzz.hostile import (
    FUZZ,
    bodies,
    check_answer,
    header_text,
    headers,
    path_segment,
    snapshot,
    texts,
)

BEARER = f"Bearer {API_TOKEN}"
HUAWEI = {"platform": "huawei", "device_id": "d1", "service_id": "Valve", "method": "SET",
          "paras": {"state": 1}, "expire_in_s": 60, "stale_after_s": 30}
ONENET = {"platform": "onenet", "device_id": "869975031234561", "method": "WRITE",
          "paras": {"obj_id": 3311, "obj_inst_id": 0, "mode": 1,
                    "data": [{"res_id": 5850, "val": True}]}}
platforms = st.one_of(st.sampled_from(["huawei", "onenet", "HUAWEI", "huawei ", "%2e%2e"]),
                      path_segment())
#: Mostly the right token, so that requests get past authentication to the code behind it.
authorized = headers(BEARER).map(lambda h: {**h, "Authorization": BEARER})
api_headers = st.one_of(authorized, authorized, authorized, headers(BEARER))
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])


@pytest.fixture
def seeded(store):
    """A command to find, so that reads also take their success path."""
    store.create_command(NewCommand(platform="huawei", device_id="d1", command_id="c1",
                                    service_id="Valve", method="SET", paras={"state": 1},
                                    created_ms=1_700_000_000_000, stale_at_ms=1_700_003_600_000))


@pytest.fixture
def call(client, redis_client, config, seeded):
    """Send one request; check the answer, and that a refused one changed nothing in Redis."""

    def send(method: str, url: str, **kwargs):
        before = snapshot(redis_client)
        response = client.open(url, method=method, **kwargs)
        body = check_answer(response, config.secrets())
        if response.status_code >= 400 or method in ("GET", "HEAD", "OPTIONS"):
            assert snapshot(redis_client) == before, f"Redis changed: {response.status_code} {body}"
        return response

    return send


@FUZZ
@given(body=st.one_of(bodies(HUAWEI), bodies(ONENET)), head=api_headers)
@example(body=b'{"platform":"huawei","device_id":"d1","service_id":"\\udfff","method":"m"}',
         head={"Authorization": BEARER})
def test_create_with_any_body(call, body, head):
    response = call("POST", "/api/v1/commands", data=body, headers=head)
    assert response.status_code in (400, 401, 413), "nothing can be created without a platform"


@FUZZ
@given(platform=platforms, command_id=path_segment(), head=api_headers, method=methods,
       query=st.dictionaries(texts, texts, max_size=3))
@example(platform="huawei", command_id="c1", head={"Authorization": BEARER}, method="GET",
         query={})
def test_get_command_with_any_id(call, platform, command_id, head, method, query):
    response = call(method, _url(f"/api/v1/commands/{platform}/{command_id}", query),
                    headers=head)
    if response.status_code == 200 and method == "GET":
        assert response.json["command_id"] == command_id


@FUZZ
@given(platform=platforms, device_id=path_segment(), head=api_headers, method=methods,
       state=st.one_of(st.none(), texts, st.sampled_from(["pending", "SENT", "PENDING "])),
       limit=st.one_of(st.none(), texts, st.integers().map(str),
                       st.sampled_from(["1e3", "0x10", " 5", "5.0", "-0", "١٢", "9" * 5000])))
@example(platform="huawei", device_id="d1", head={"Authorization": BEARER}, method="GET",
         state=None, limit="1")
def test_list_device_commands_with_any_query(call, platform, device_id, head, method, state,
                                             limit):
    query = {k: v for k, v in (("state", state), ("limit", limit)) if v is not None}
    response = call(method, _url(f"/api/v1/devices/{platform}/{device_id}/commands", query),
                    headers=head)
    if response.status_code == 200 and method == "GET":
        assert isinstance(response.json["items"], list)


@FUZZ
@given(action=st.sampled_from(["revoke", "reconcile"]), platform=platforms,
       device_id=path_segment(), head=api_headers,
       body=st.one_of(st.just(b""), bodies({"only_stale": True})))
def test_revoke_and_reconcile_with_any_input(call, action, platform, device_id, head, body):
    response = call("POST", f"/api/v1/devices/{platform}/{device_id}/{action}", data=body,
                    headers=head)
    assert response.status_code in (308, 400, 401, 404, 413), "no platform: nothing is accepted"


@FUZZ
@given(method=methods, head=headers(BEARER), query=st.dictionaries(texts, texts, max_size=2),
       suffix=st.sampled_from(["", "/", "/..", "%00", "?x"]))
def test_healthz_with_any_request(call, method, head, query, suffix):
    response = call(method, _url(f"/healthz{suffix}", query), headers=head)
    if method == "GET" and suffix == "":
        assert response.status_code == 200 and response.json == {"status": "ok"}


@FUZZ
@given(path=st.lists(st.one_of(path_segment(), header_text.map(lambda t: quote(t, safe=""))),
                     max_size=5).map("/".join), method=methods, head=api_headers)
def test_unknown_paths_under_the_api(call, path, method, head):
    call(method, f"/api/v1/{path}", headers=head)


def _url(path: str, params: dict[str, str]) -> str:
    """The path with the query appended (a path may already hold a `?` of its own)."""
    if not params:
        return path
    query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())
    return path + ("&" if "?" in path else "?") + query


def _quote(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")

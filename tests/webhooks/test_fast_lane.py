"""The Huawei webhook's fast lane (webhooks/huawei_fast.py) answers exactly as the Flask view does.

Given the app with its fast lane and the same app without it, when the same request reaches each
(hostile bodies and tokens, v1 and v5 callbacks, repeated ones, a body that fails to arrive,
Redis or the job broker away), then the answers (status, headers, body), what Redis holds
afterwards (the queued messages, decoded, but their random ids and times) and what was counted
are the same, and the sink is called once per request either way. And the lane is only right
while Flask would run nothing for the webhook that it does not: a hook added, app-wide or on
the webhook's blueprint, fails here until the lane does what it does.
"""

from __future__ import annotations

import io
import json
from typing import Any

import flask
import pytest
import redis
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.test import Client
from werkzeug.wrappers import Response

from cmdkeeper import metrics
from store import keys
from tests.conftest import WEBHOOK_TOKEN
from tests.fuzz.hostile import FUZZ, bodies, encode, path_segment
from web.request_ids import RequestIdMiddleware
from web.services import EXTENSION
from webhooks import huawei, huawei_fast

V1 = {"deviceId": "d1", "commandId": "c1", "result": {"resultCode": "DELIVERED",
                                                      "resultDetail": None}}
V5 = {"resource": "device.command.status", "event": "update", "event_time": "20240105T101530Z",
      "notify_data": {"header": {"device_id": "d1", "node_id": "n"},
                      "body": {"command_id": "c1", "status": "SUCCESSFUL", "result": {}}}}
REQUEST_ID = {"X-Request-ID": "lane-test-1"}


@pytest.fixture
def lanes(app) -> dict[str, Client]:
    """The app as served (with the lane), and the same app with Flask serving every request."""
    lane = app.wsgi_app.app
    assert isinstance(lane, huawei_fast.HuaweiFastLane)
    return {"fast": Client(app.wsgi_app, Response),
            "flask": Client(RequestIdMiddleware(lane.inner), Response)}


@pytest.fixture
def counted(monkeypatch) -> list:
    """Every increment counted in this process from now on, in order."""
    seen: list = []
    add = metrics.RECORDER.add

    def recording(items, window=()):
        seen.append((list(items), list(window)))
        add(items, window)

    monkeypatch.setattr(metrics.RECORDER, "add", recording)
    return seen


def state(client: redis.Redis) -> dict[str, Any]:
    """What Redis holds, but the metric sums and the random parts of each queued message."""
    out: dict[str, Any] = {}
    for name in sorted(client.scan_iter(count=1000)):
        if name.startswith(keys.METRIC_COUNTERS):
            continue
        kind = client.type(name)
        if kind == "string":
            out[name] = (client.get(name), client.ttl(name) > 0)
        elif kind == "list":
            out[name] = client.llen(name)
        elif kind == "hash" and name.endswith(".msgs"):
            messages = [json.loads(m) for m in client.hvals(name)]
            for m in messages:
                del m["message_id"], m["message_timestamp"], m["options"]["redis_message_id"]
            out[name] = sorted(messages, key=json.dumps)
        elif kind == "hash":
            out[name] = client.hgetall(name)
        elif kind == "zset":
            out[name] = client.zrange(name, 0, -1, withscores=True)
        else:
            out[name] = kind
    return out


def answer(response) -> tuple:
    headers = [(k, v) for k, v in response.headers.items() if k != "X-Request-ID"]
    return response.status_code, headers, response.get_data(), "X-Request-ID" in response.headers


def both(lanes, redis_client, counted, send) -> dict[str, tuple]:
    """`send(client)` against each lane on an empty Redis: answers, Redis, counts."""
    seen = {}
    for name, client in lanes.items():
        redis_client.flushdb()
        counted.clear()
        answers = send(client)
        seen[name] = (answers, state(redis_client), list(counted))
    return seen


def post(path: str, data: bytes, times: int = 1, terminated: bool = False):
    """`times` POSTs of `data`; `terminated`: as gunicorn hands a body over (a stream read to
    its end, `wsgi.input_terminated`), else as the test client does (read to the length)."""
    environ = {"wsgi.input_terminated": True} if terminated else {}
    return lambda client: [answer(client.post(path, data=data, headers=REQUEST_ID,
                                              content_type="application/json",
                                              environ_overrides=environ))
                           for _ in range(times)]


@FUZZ
@given(body=st.one_of(bodies(V1), bodies(V5), st.just(encode(V1)), st.just(encode(V5))),
       times=st.integers(1, 2), terminated=st.booleans())
@example(body=encode(V1), times=2, terminated=True)
@example(body=encode({**V1, "result": {"resultCode": "NO_SUCH_WORD"}}), times=1,
         terminated=False)
@example(body=b"", times=1, terminated=True)
@example(body=b"[1]", times=1, terminated=False)
def test_any_callback_body_is_answered_alike(lanes, redis_client, counted, body, times,
                                             terminated):
    seen = both(lanes, redis_client, counted,
                post(f"/webhooks/huawei/{WEBHOOK_TOKEN}", body, times, terminated))
    assert seen["fast"] == seen["flask"]


@FUZZ
@given(token=st.one_of(path_segment(), st.just(WEBHOOK_TOKEN),
                       st.just(WEBHOOK_TOKEN + "/"), st.just(WEBHOOK_TOKEN + "/x")))
def test_any_token_is_answered_alike(lanes, redis_client, counted, token):
    seen = both(lanes, redis_client, counted, post(f"/webhooks/huawei/{token}", encode(V1)))
    assert seen["fast"] == seen["flask"]


@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "OPTIONS"])
def test_other_methods_are_answered_alike(lanes, redis_client, counted, method):
    seen = both(lanes, redis_client, counted, lambda client: [answer(client.open(
        f"/webhooks/huawei/{WEBHOOK_TOKEN}", method=method, data=encode(V1),
        headers=REQUEST_ID))])
    assert seen["fast"] == seen["flask"]


def test_a_body_over_the_limit_or_without_a_length_is_answered_alike(lanes, redis_client,
                                                                     counted):
    big = json.dumps({**V1, "pad": "x" * 70_000}).encode()
    for data in (big, encode(V1)):
        seen = both(lanes, redis_client, counted, lambda client, data=data: [answer(client.post(
            f"/webhooks/huawei/{WEBHOOK_TOKEN}", input_stream=io.BytesIO(data),
            headers={**REQUEST_ID, "Transfer-Encoding": "chunked"}))])
        assert seen["fast"] == seen["flask"]
    seen = both(lanes, redis_client, counted, post(f"/webhooks/huawei/{WEBHOOK_TOKEN}", big))
    assert seen["fast"] == seen["flask"] and seen["fast"][0][0][0] == 413


@pytest.mark.parametrize("failure", [redis.ConnectionError("away"), redis.TimeoutError("slow"),
                                     ServiceUnavailable("broker away", retry_after=5),
                                     RuntimeError("a bug")])
def test_a_failing_sink_is_answered_alike_and_called_once(app, lanes, redis_client, counted,
                                                          monkeypatch, failure):
    calls = []

    def failing(events, awake=(), hint_at_ms=0):
        calls.append(events)
        raise failure

    monkeypatch.setattr(app.extensions[EXTENSION].sink, "submit", failing)
    seen = both(lanes, redis_client, counted, post(f"/webhooks/huawei/{WEBHOOK_TOKEN}",
                                                    encode(V1)))
    assert seen["fast"] == seen["flask"]
    assert len(calls) == 2, "one call per lane: the view raised the lane's failure"
    assert seen["fast"][0][0][0] in (500, 503)


def test_a_stream_longer_than_its_length_is_read_alike(lanes, redis_client, counted):
    # a server that terminates the stream itself: the view reads it to its end, whatever the
    # length said, and so does the lane
    def send(client, extra: bytes):
        data = encode(V1)
        return [answer(client.post(f"/webhooks/huawei/{WEBHOOK_TOKEN}", headers=REQUEST_ID,
                                   environ_overrides={"wsgi.input": io.BytesIO(data + extra),
                                                      "CONTENT_LENGTH": str(len(data)),
                                                      "wsgi.input_terminated": True}))]

    for extra in (b" ", b"  \n", b"x", b" " * 70_000):
        seen = both(lanes, redis_client, counted, lambda client, extra=extra: send(client, extra))
        assert seen["fast"] == seen["flask"]


def test_a_body_that_fails_to_arrive_is_answered_alike(lanes, redis_client, counted):
    class Broken:
        def read(self, *args):
            raise OSError("the client went away")

        readline = readinto = read

    def send(client):
        environ = {"wsgi.input": Broken(), "CONTENT_LENGTH": "40"}
        return [answer(client.post(f"/webhooks/huawei/{WEBHOOK_TOKEN}", headers=REQUEST_ID,
                                   environ_overrides=environ))]

    seen = both(lanes, redis_client, counted, send)
    assert seen["fast"] == seen["flask"]


def test_flask_runs_nothing_for_the_webhook_that_the_lane_does_not(app):
    blueprint = huawei.bp.name
    assert app.url_map.bind("cmdkeeper.test").match(
        f"/webhooks/huawei/{WEBHOOK_TOKEN}", method="POST") == (
        f"{blueprint}.receive", {"token": WEBHOOK_TOKEN})
    for scope in (None, blueprint):
        for name, hooks in (("before_request", app.before_request_funcs),
                            ("teardown_request", app.teardown_request_funcs),
                            ("url_value_preprocessor", app.url_value_preprocessors)):
            assert not hooks.get(scope), f"a {name} hook the fast lane does not run: teach it"
    assert not app.after_request_funcs.get(None), "an app-wide after_request hook: teach the lane"
    assert len(app.after_request_funcs[blueprint]) == 1, "the lane counts as callback_counter"
    assert not app.teardown_appcontext_funcs
    for signal in (flask.request_started, flask.request_finished, flask.request_tearing_down):
        assert not signal.receivers, f"{signal.name} has receivers the fast lane does not call"


def test_a_token_flask_cannot_route_is_not_taken_either(config, clock, redis_client, counted):
    from app import create_app

    app = create_app(config.with_(webhook_token="webhook/token-with-a-slash"), clock=clock)
    lanes = {"fast": Client(app.wsgi_app, Response),
             "flask": Client(RequestIdMiddleware(app.wsgi_app.app.inner), Response)}
    seen = both(lanes, redis_client, counted,
                post("/webhooks/huawei/webhook/token-with-a-slash", encode(V1)))
    assert seen["fast"] == seen["flask"] and seen["fast"][0][0][0] == 404

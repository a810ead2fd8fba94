"""The Huawei callbacks the webhook takes, served before Flask dispatches the request: a WSGI layer
between the request-id middleware and Flask, for the one request the web process serves most.

Profiled in gunicorn's threads under bench/ingest's load, Flask's per-request machinery (the
request and app contexts, URL matching, the response object, the hooks) cost a taken callback
more CPU than the webhook's own work and its Redis round trip: in one A/B run, 338 µs of web CPU
per callback with this layer against 504 without it (both on store/direct.py). The layer does
exactly what the view in webhooks/huawei.py does for a callback it takes, with the same
functions: the token check, `parse_json`, `huawei.parse`, the sink, the counters (the view's
and its blueprint's `after_request` counter), and answers the same bytes and headers.

Only a request that will be answered 200 is served here. Every other one goes on to Flask as it
came (its body put back), to be answered by the view and the error handlers exactly as before:
another path or method, a path that is not ASCII, no Content-Length (chunked) or one that is 0
or over the limit, a wrong token, a body that is not a valid callback. A failure while reading
the body or in the sink (Redis or the job broker away) goes to Flask too, with the failure: the
view raises it (`huawei.FAST_LANE_FAILURE`) rather than submit again, so Flask answers it as it
answers any failure of the view (503 `storage_unavailable`, ...), counted and logged as ever.

The view stays the definition: tests/webhooks/test_fast_lane.py holds the two to the same
answers, Redis writes and counts on hostile input, and fails when a Flask hook this layer does
not run is added (app-wide, or on the webhook's blueprint).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.wsgi import get_content_length, get_input_stream

from cmdkeeper.metric_names import CALLBACKS_RECEIVED, count_callbacks
from web.http import parse_json, tokens_match
from web.services import EXTENSION, Services
from webhooks import huawei

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

#: The webhook's path, up to the token.
PREFIX = "/webhooks/huawei/"

#: The headers Flask gives the view's answers (tests/webhooks/test_fast_lane.py compares them).
_CONTENT_TYPE = ("Content-Type", "application/json")


class HuaweiFastLane:
    """WSGI middleware: serves the Huawei callbacks that will be taken, passes on the rest."""

    def __init__(self, app: Flask, inner: WsgiApp) -> None:
        self.app, self.inner = app, inner

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" \
                and environ.get("PATH_INFO", "").startswith(PREFIX):
            answer = self._take(environ)
            if answer is not None:
                start_response("200 OK", [_CONTENT_TYPE, ("Content-Length", str(len(answer)))])
                return [answer]
        return self.inner(environ, start_response)

    def _take(self, environ: dict) -> bytes | None:
        """The answer of a callback taken; None to let Flask answer the request instead."""
        token = environ["PATH_INFO"][len(PREFIX):]
        if not token or "/" in token or not token.isascii():
            return None
        # werkzeug's own reading of the length (None when absent, invalid or chunked) and of
        # the body, as the view's `request.get_data()` reads them
        size, limit = get_content_length(environ), self.app.config["MAX_CONTENT_LENGTH"]
        svc: Services = self.app.extensions[EXTENSION]
        if not size or (limit is not None and size > limit) \
                or not tokens_match(token, svc.config.webhook_token):
            return None
        try:
            raw = _read_body(environ, size, limit)
        except Exception as failure:
            environ[huawei.FAST_LANE_FAILURE] = failure
            return None
        try:
            body = parse_json(raw)
            now = svc.clock()
            event = huawei.parse(body, received_ms=now) if isinstance(body, dict) else None
        except Exception:
            event = None  # refused: the view refuses it again, in its own words
        if event is None:
            environ["wsgi.input"] = io.BytesIO(raw)
            return None
        try:
            enqueued = svc.sink.submit([event])[0]
            count_callbacks("huawei", [event], [enqueued], now)
        except Exception as failure:
            environ[huawei.FAST_LANE_FAILURE] = failure
            environ["wsgi.input"] = io.BytesIO(raw)
            return None
        CALLBACKS_RECEIVED.inc(platform="huawei")  # the blueprint's after_request counter
        return huawei.ANSWERS[enqueued]


def _read_body(environ: dict, size: int, limit: int | None) -> bytes:
    """What `request.get_data()` reads: werkzeug's input stream read to its end. Read as the
    announced length and then a probe for more, rather than in 64 KiB chunks (each a fresh
    buffer), which is where the view spends its time reading a callback."""
    stream = get_input_stream(environ, max_content_length=limit)
    raw = stream.read(size)
    more = stream.read(1)
    return raw + more + stream.read() if more else raw


def install(app: Flask) -> None:
    """Serve the Huawei callbacks the webhook takes before Flask dispatches them (call before
    the request-id middleware is installed, so that it wraps this layer too)."""
    app.wsgi_app = HuaweiFastLane(app, app.wsgi_app)  # type: ignore[method-assign]

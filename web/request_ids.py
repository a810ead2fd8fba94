"""Request ids on the web: each request runs with its id set and answers with it in a header.

The id comes from a sane incoming `X-Request-ID` (Heroku's router sets one too, under the same
rules) or is made fresh (cmdkeeper/request_ids.py holds the id itself and the sanity rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from cmdkeeper import request_ids

#: The HTTP header, in and out.
HEADER = "X-Request-ID"
_ENVIRON_KEY = "HTTP_X_REQUEST_ID"
#: The WSGI environ key holding `time.monotonic()` when the request reached the app.
STARTED_KEY = "cmdkeeper.started"

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class RequestIdMiddleware:
    """WSGI middleware: each request runs with its id set, and answers with it in a header.

    Below Flask, so that every answer carries it: errors, 404s and 413s included.
    """

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        # when the app began on it: web/callback_metrics.py times its answers to the platforms
        environ[STARTED_KEY] = time.monotonic()
        request_id = request_ids.accept(environ.get(_ENVIRON_KEY))
        token = request_ids.bind(request_id)

        def start_with_id(status, headers, exc_info=None):
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start_with_id)
        finally:
            # gunicorn's threads serve request after request: the id must not outlive its own
            request_ids.reset(token)


def install(app) -> None:
    """Give every request of this Flask app a request id (see `RequestIdMiddleware`)."""
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)

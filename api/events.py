"""`GET /api/v1/events`: the change feed, read by `after` id, oldest first, with long polling.

`wait_s` holds the request until an event arrives (or the wait is over; EVENTS_MAX_WAIT_S caps
it). A long poll holds a web thread, and the webhooks must never wait for one: each web process
lets at most
`LONG_POLLS_PER_PROCESS` wait at once, and a request beyond that is answered at once, as with
`wait_s=0` (the client simply asks again).
"""

from __future__ import annotations

import threading

from flask import Blueprint, request

from api import v1
from store import feed
from web.http import ApiError
from web.services import services

bp = Blueprint("api_events", __name__, url_prefix="/api/v1")
bp.before_request(v1.authenticate)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_WAIT_S = 30
#: Long polls one web process serves at once (gunicorn runs WEB_THREADS threads per process).
LONG_POLLS_PER_PROCESS = 2
_long_polls = threading.BoundedSemaphore(LONG_POLLS_PER_PROCESS)


def _whole(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"bad_{name}", f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, f"bad_{name}", f"{name} must be between {low} and {high}")
    return value


@bp.get("/events")
def events():
    after = request.args.get("after")
    if after is not None and not feed.valid_id(after):
        raise ApiError(400, "bad_after", "after must be an event id such as 1733050000000-0")
    limit = _whole("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    wait_s = _whole("wait_s", 0, 0, MAX_WAIT_S)
    svc = services()
    client = svc.store.client
    try:
        items = feed.read(client, after, limit)
        if not items and wait_s and _long_polls.acquire(blocking=False):
            try:
                wait_ms = min(wait_s, svc.config.events_max_wait_s) * 1000
                if feed.wait(client, after or "0-0", wait_ms):
                    items = feed.read(client, after, limit)
            finally:
                _long_polls.release()
    except feed.FeedGone as gone:
        reach = f"the oldest kept event is {gone.oldest}" if gone.oldest else "no event is kept"
        raise ApiError(410, "gone", f"events after {after} are no longer kept: {reach} (events "
                                    f"are kept EVENTS_RETAIN_S = {svc.config.events_retain_s} s; "
                                    f"read from after={gone.trimmed})") from None
    if items:
        next_id = items[-1].id
    else:
        next_id = after or feed.trimmed_up_to(client)
    return {"items": [e.to_json() for e in items], "next": next_id}

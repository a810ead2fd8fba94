"""Request ids: one per web request, carried into every job it enqueues, on every log line.

The id of the work in hand lives in a context variable. The web sets it per request (from a sane
incoming `X-Request-ID`, else a fresh one: web/request_ids.py); the worker sets it per job from
the message (workers/broker.py); the clock sets one per sweep. `RequestIdFilter` puts it on each
log record, so every line of that work can be found.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar, Token
from uuid import uuid4

#: An incoming id is kept only if it is 1-200 of these characters (Heroku's router keeps ids of
#: letters, digits, `+ = / -`; `_ . :` are common in tracing ids). Anything else — a newline, a
#: quote, a 10 kB string — would forge or bloat log lines, so it is replaced by a fresh id.
SANE_ID = re.compile(r"[A-Za-z0-9+=/_.:\-]{1,200}")

_current: ContextVar[str | None] = ContextVar("cmdkeeper_request_id", default=None)


def current() -> str | None:
    """The id of the request or job in hand, if any."""
    return _current.get()


def set_current(request_id: str | None) -> None:
    """Make `request_id` the id of what this thread (context) does from now on."""
    _current.set(request_id)


def bind(request_id: str) -> Token:
    """Make `request_id` current until `reset(token)` (a web request's whole lifetime)."""
    return _current.set(request_id)


def reset(token: Token) -> None:
    _current.reset(token)


def new() -> str:
    return uuid4().hex


def accept(incoming: str | None) -> str:
    """The incoming id if it is sane, else a fresh one."""
    if incoming and SANE_ID.fullmatch(incoming):
        return incoming
    return new()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record as `request_id` (None when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _current.get()
        return True

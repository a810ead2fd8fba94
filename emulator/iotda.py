"""Huawei IoTDA v5 endpoints for cached (asynchronous) device commands, under
`/v5/iot/{project_id}`.

Every call is identified (the AK of its signature, `token`, or nobody), counted in the key's
per-second window (`iotda_rate_limit`; 429 APIG.0308 above it), may meet an injected fault (503
congestion, 500 error), then is authenticated (`iotda_auth`) and checked against the configured
project and instance. Errors are `{"error_code", "error_msg"}` with a 4xx/5xx status; every
answer carries an `X-Request-Id`, which the SDK puts into its `ClientRequestException`.
Lists page newest first: `limit` 1-50 (default 10), `marker` (the last record of the previous
page: only older records follow), `offset` 0-500 after the marker; filters `start_time`,
`end_time` (on the creation time, whole seconds), `status`, `command_name`.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from emulator.iotda_auth import IotdaError, authenticate, identity
from emulator.iotda_state import (
    HISTORY_STATUSES,
    QUEUE_STATUSES,
    IotdaCommand,
    bad_input,
    parse_create,
)
from emulator.validate import query_int
from emulator.world import Emulator
from platforms.formats import iotda_to_ms

bp = Blueprint("iotda", __name__, url_prefix="/v5/iot/<project_id>/devices/<device_id>")

#: A gate verdict -> the error it answers.
GATE_ERRORS = {"throttled": "APIG.0308", "congestion": "APIG.0201", "error": "IOTDA.000001"}
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_MARKER = re.compile(r"^[0-9a-f]{24}$")


@bp.errorhandler(IotdaError)
def _iotda_error(e: IotdaError):
    g.error_code = e.code
    return jsonify(e.body()), e.status


@bp.after_request
def _request_id(response):
    response.headers["X-Request-Id"] = g.get("request_id") or "-"
    return response


def call(view: Callable[..., Any]):
    """Wrap a view: identify, rate-limit, inject faults, authenticate, answer JSON."""

    @functools.wraps(view)
    def wrapper(project_id: str, device_id: str, **kwargs: Any):
        em: Emulator = current_app.extensions["emulator"]
        with em.transaction() as now_ms:
            g.at_ms, g.request_id = now_ms, em.iotda.new_request_id()
            g.app = identity(request.headers)
            verdict = em.gate("iotda", g.app or "anonymous")
            if verdict:
                f = em.faults
                raise IotdaError(GATE_ERRORS[verdict], f"policy user over ratelimit,limit:"
                                 f"{f.iotda_rate_limit},time:{f.iotda_rate_window_s:g} second"
                                 if verdict == "throttled" else None)
            s = em.settings
            authenticate(s, request.method, request.path, request.args.items(multi=True),
                         request.headers, request.get_data(cache=True), time.time())
            header_project = request.headers.get("X-Project-Id")
            if (s.iotda_project_id and project_id != s.iotda_project_id) \
                    or (header_project and header_project != project_id) \
                    or (s.iotda_instance_id
                        and request.headers.get("Instance-Id") != s.iotda_instance_id):
                raise IotdaError("IOTDA.000005")
            if not _DEVICE_ID.match(device_id):
                raise bad_input("device_id: at most 128 letters, digits, _ and -")
            return jsonify(view(em, device_id, **kwargs))

    return wrapper


@bp.post("/async-commands")
@call
def create(em: Emulator, device_id: str):
    if request.get_data(cache=True) and request.get_json(silent=True, force=True) is None:
        raise IotdaError("IOTDA.000008", "the body is not JSON")
    return em.iotda.create(device_id, parse_create(request.get_json(silent=True, force=True)))\
        .detail()


@bp.get("/async-commands/<command_id>")
@call
def show(em: Emulator, device_id: str, command_id: str):
    return em.iotda.command(device_id, command_id).detail()


@bp.get("/async-commands")
@call
def list_queue(em: Emulator, device_id: str):
    items, marker, count = _page(em.iotda.listed(device_id, queue=True), QUEUE_STATUSES)
    page: dict[str, Any] = {"count": count}
    if marker:
        page["marker"] = marker
    return {"commands": [c.item() for c in items], "page": page}


@bp.get("/async-commands-history")
@call
def list_history(em: Emulator, device_id: str):
    items, marker, _ = _page(em.iotda.listed(device_id, queue=False), HISTORY_STATUSES)
    return {"commands": [c.item() for c in items], "page": {"marker": marker} if marker else {}}


def _page(newest_first: list[IotdaCommand],
          statuses: tuple[str, ...]) -> tuple[list[IotdaCommand], str | None, int]:
    """(this page, its marker, how many match the filters) of a newest-first list."""
    a = request.args
    limit = query_int(a, "limit", 10, 1, 50, lambda d: IotdaError("IOTDA.000017"))
    offset = query_int(a, "offset", 0, 0, 500, lambda d: IotdaError("IOTDA.000018"))
    marker = a.get("marker") or None
    if marker is not None and not _MARKER.match(marker):
        raise bad_input("marker is not a record id of a previous page")
    start, end = _time(a, "start_time"), _time(a, "end_time")
    if start is not None and end is not None and start > end:
        raise IotdaError("IOTDA.000010")
    status = a.get("status") or None
    if status is not None and status not in statuses:
        raise bad_input(f"status must be one of {', '.join(statuses)}")
    name = a.get("command_name") or None
    matching = [c for c in newest_first
                if (start is None or c.created_ms - c.created_ms % 1000 >= start)
                and (end is None or c.created_ms - c.created_ms % 1000 <= end)
                and (status is None or c.status == status)
                and (name is None or c.command_name == name)]
    after = [c for c in matching if marker is None or c.record_id < marker]
    items = after[offset:offset + limit]
    return items, items[-1].record_id if items else None, len(matching)


def _time(args: Any, key: str) -> int | None:
    text = args.get(key)
    if not text:
        return None
    try:
        return iotda_to_ms(text)
    except ValueError:
        raise IotdaError("IOTDA.000009", f"{key}: yyyyMMdd'T'HHmmss'Z'") from None

"""Huawei OceanConnect northbound v1 (iocm) endpoints: auth, device commands, cancel tasks.

Every call is identified by its app (the `app_key` header; `appId` in the login form or the
refresh body), counted in the app's rolling rate window (failed calls too; calls refused for
throttling are not counted), then may meet an injected fault, then is authenticated. Errors are
`{"error_code", "error_desc"}` with the statuses of `huawei_auth.ERRORS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.datastructures import MultiDict

from emulator.huawei_auth import HuaweiError
from emulator.huawei_state import HuaweiCommand, bad_input, parse_create
from emulator.validate import query_int, query_time
from emulator.world import Emulator
from platforms.formats import huawei_to_ms

bp = Blueprint("huawei", __name__, url_prefix="/iocm/app")

#: A gate verdict -> the error it answers.
GATE_ERRORS = {"throttled": "1010009", "congestion": "100501", "error": "50252"}


@bp.errorhandler(HuaweiError)
def _huawei_error(e: HuaweiError):
    g.error_code = e.code
    return jsonify(e.body()), e.status


def _form() -> Mapping[str, str]:
    """The login form. A body sent without any Content-Type is read as a form too: libiocm (the
    PHP client) logs in that way, and the real platform takes it."""
    if not request.mimetype:
        return MultiDict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
    return request.form


def _form_app() -> str | None:
    return _form().get("appId") or None


def _json_app() -> str | None:
    body = request.get_json(force=True, silent=True)
    return body.get("appId") if isinstance(body, dict) and isinstance(body.get("appId"), str) \
        else None


def _header_app() -> str | None:
    return request.headers.get("app_key") or None


def call(identify: Callable[[], str | None] = _header_app, auth: bool = True):
    """Wrap a view: identify, rate-limit, inject faults, authenticate, answer JSON."""

    def decorate(view: Callable[..., Any]):
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            em: Emulator = current_app.extensions["emulator"]
            with em.transaction() as now_ms:
                g.at_ms = now_ms
                app_id = identify()
                if app_id is None:
                    raise HuaweiError("100025" if auth else "100022",
                                      None if auth else "appId is required")
                g.app = app_id
                verdict = em.gate("huawei", app_id)
                if verdict:
                    raise HuaweiError(GATE_ERRORS[verdict])
                if auth:
                    em.tokens.check(app_id, request.headers.get("Authorization", ""), now_ms)
                    other = request.args.get("appId")
                    if other and other != em.settings.huawei_app_id:
                        raise HuaweiError("100217")
                return jsonify(view(em, *args, **kwargs))

        return wrapper

    return decorate


def _json_body() -> Any:
    return request.get_json(force=True, silent=True)


@bp.post("/sec/v1.1.0/login")
@call(identify=_form_app, auth=False)
def login(em: Emulator):
    form = _form()
    return em.tokens.login(form.get("appId"), form.get("secret"), em.engine.now_ms,
                           em.faults.token_ttl_s)


@bp.post("/sec/v1.1.0/refreshToken")
@call(identify=_json_app, auth=False)
def refresh_token(em: Emulator):
    return em.tokens.refresh(_json_body(), em.engine.now_ms, em.faults.token_ttl_s)


@bp.post("/sec/v1.1.0/logout")
@call()
def logout(em: Emulator):
    em.tokens.logout(_json_body())
    return {}


@bp.post("/cmd/v1.4.0/deviceCommands")
@call()
def create_command(em: Emulator):
    return em.huawei.create(parse_create(_json_body())).to_api()


@bp.get("/cmd/v1.4.0/deviceCommands")
@call()
def query_commands(em: Emulator):
    q = _page_args()
    device_id = request.args.get("deviceId")
    items = [c for c in em.huawei.commands.values()
             if (device_id is None or c.device_id == device_id) and _in_window(c.created_ms, q)]
    page = _page(em.huawei.ordered(items, lambda c: c.created_ms), q)
    return {"pagination": page["pagination"],
            "data": [c.to_api() for c in page["items"]]}


@bp.put("/cmd/v1.4.0/deviceCommands/<command_id>")
@call()
def modify_command(em: Emulator, command_id: str):
    cmd: HuaweiCommand = em.huawei.cancel(command_id, _json_body())
    return cmd.to_api()


@bp.post("/cmd/v1.4.0/deviceCommandCancelTasks")
@call()
def create_cancel_task(em: Emulator):
    return em.huawei.task_to_api(em.huawei.create_task(_json_body()))


@bp.get("/cmd/v1.4.0/deviceCommandCancelTasks")
@call()
def query_cancel_tasks(em: Emulator):
    q = _page_args()
    a = request.args
    items = [t for t in em.huawei.tasks.values()
             if all(a.get(k) in (None, v) for k, v in
                    (("taskId", t.task_id), ("deviceId", t.device_id), ("status", t.status)))
             and _in_window(t.created_ms, q)]
    page = _page(em.huawei.ordered(items, lambda t: t.created_ms), q)
    return {"pagination": page["pagination"],
            "data": [em.huawei.task_to_api(t) for t in page["items"]]}


def _page_args() -> dict[str, Any]:
    a = request.args
    return {"page_no": query_int(a, "pageNo", 0, 0, None, bad_input),
            "page_size": query_int(a, "pageSize", 1000, 1, 1000, bad_input),
            "start_ms": query_time(a, "startTime", huawei_to_ms, bad_input),
            "end_ms": query_time(a, "endTime", huawei_to_ms, bad_input)}


def _in_window(created_ms: int, q: dict[str, Any]) -> bool:
    """Huawei times have whole seconds: compare at that resolution."""
    created_ms -= created_ms % 1000
    return (q["start_ms"] is None or created_ms >= q["start_ms"]) and \
        (q["end_ms"] is None or created_ms <= q["end_ms"])


def _page(items: list[Any], q: dict[str, Any]) -> dict[str, Any]:
    first = q["page_no"] * q["page_size"]
    return {"pagination": {"pageNo": q["page_no"], "pageSize": q["page_size"],
                           "totalSize": len(items)},
            "items": items[first:first + q["page_size"]]}

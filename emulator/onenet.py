"""OneNET NB-IoT cached-command endpoints (api.heclouds.com paths), in the errno envelope.

Auth is the master `api-key` header: missing is errno 2, wrong is errno 3 (a setting makes it 1).
An authenticated call counts in the key's rolling rate window (`onenet_rate_limit`, 0 = none;
errno 15 above it), then may meet an injected fault: congestion is errno 7 "service internal
error" (HTTP 200), a 5xx is HTTP 500 with errno 1. Business errors come back as HTTP 200.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from emulator.onenet_params import OneNetError, parse_create, parse_history, required
from emulator.world import Emulator

bp = Blueprint("onenet", __name__)

#: A gate verdict -> the error it answers.
GATE_ERRORS = {
    "throttled": OneNetError(15, "api freq out of limit"),
    "congestion": OneNetError(7, "service internal error"),
    "error": OneNetError(1, "internal server error", http_status=500),
}


@bp.errorhandler(OneNetError)
def _onenet_error(e: OneNetError):
    g.error_code = str(e.errno)
    return jsonify(e.body()), e.http_status


def call(view: Callable[..., Any]):
    """Wrap a view: authenticate, rate-limit, inject faults, answer in the errno envelope."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        em: Emulator = current_app.extensions["emulator"]
        with em.transaction() as now_ms:
            g.at_ms = now_ms
            key = request.headers.get("api-key")
            if not key:
                raise OneNetError(2, "api-key required")
            if key != em.settings.onenet_api_key:
                raise OneNetError(em.settings.onenet_auth_errno, "auth failed")
            g.app = "master"
            verdict = em.gate("onenet", "master")
            if verdict:
                raise GATE_ERRORS[verdict]
            data = view(em, *args, **kwargs)
            body: dict[str, Any] = {"errno": 0, "error": "succ"}
            if data is not None:
                body["data"] = data
            return jsonify(body)

    return wrapper


def _create(em: Emulator, kind: str) -> dict[str, Any]:
    fields = parse_create(kind, request.args, request.get_data(cache=True), em.engine.now_ms,
                          em.settings.onenet_limit_errno)
    return {"uuid": em.onenet.create(fields).uuid}


@bp.get("/nbiot/offline")
@call
def cached_read(em: Emulator):
    return _create(em, "READ")


@bp.post("/nbiot/offline")
@call
def cached_write(em: Emulator):
    return _create(em, "WRITE")


@bp.post("/nbiot/execute/offline")
@call
def cached_execute(em: Emulator):
    return _create(em, "EXECUTE")


@bp.get("/nbiot/offline/history")
@call
def history(em: Emulator):
    q = parse_history(request.args)
    total, items = em.onenet.history(q)
    return {"total_count": total, "page": q["page"], "per_page": q["per_page"], "items": items}


@bp.get("/nbiot/offline/history/<uuid>")
@call
def detail(em: Emulator, uuid: str):
    return em.onenet.command(uuid, required(request.args, "imei")).detail()


@bp.put("/nbiot/offline/cancel/all")
@call
def cancel_all(em: Emulator):
    return em.onenet.cancel_all(required(request.args, "imei"))


@bp.put("/nbiot/offline/cancel/<uuid>")
@call
def cancel_one(em: Emulator, uuid: str):
    em.onenet.cancel(uuid, required(request.args, "imei"))
    return None

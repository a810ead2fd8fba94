"""Huawei command status notifications: `POST /webhooks/huawei/<webhook_token>`.

Accepts the v1 body `{deviceId, commandId, result: {resultCode, resultDetail}}` and the IoTDA v5
rule-engine body (`resource: device.command.status`). The token in the path is the only
credential Huawei's callbacks can carry; it is compared in constant time and never logged.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from cmdkeeper.metric_names import count_callbacks
from platforms.formats import huawei_to_ms
from platforms.huawei_vocab import STATES as HUAWEI
from store.model import Event, Source
from web.callback_metrics import callback_counter
from web.http import ApiError, read_json_object, tokens_match
from web.ids import check_id
from web.services import services

bp = Blueprint("webhook_huawei", __name__)
bp.after_request(callback_counter("huawei"))

V5_RESOURCE = "device.command.status"


@bp.post("/webhooks/huawei/<token>")
def receive(token: str):
    svc = services()
    if not tokens_match(token, svc.config.webhook_token):
        raise ApiError(404, "not_found", "no such webhook")
    now = svc.clock()
    event = parse(read_json_object(request), received_ms=now)
    enqueued = svc.sink.submit([event])[0]
    count_callbacks("huawei", [event], [enqueued], now)
    return {"status": "accepted" if enqueued else "duplicate"}, 200


def _status(value: Any, name: str) -> str:
    if not isinstance(value, str) or value not in HUAWEI:
        raise ApiError(
            400, "bad_status", f"{name} must be one of {', '.join(sorted(HUAWEI))}"
        )
    return value


def _object(parent: dict, name: str, path: str) -> dict:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise ApiError(400, "missing_field", f"{path} must be a JSON object")
    return value


def parse(body: dict[str, Any], *, received_ms: int) -> Event:
    """A v1 or v5 notification as an Event; ApiError(400) naming the first problem."""
    if body.get("resource") == V5_RESOURCE:
        return _parse_v5(body, received_ms)
    if "resource" in body:
        raise ApiError(400, "unsupported", f"resource must be {V5_RESOURCE!r}")
    result = _object(body, "result", "result")
    status = _status(result.get("resultCode"), "result.resultCode")
    return Event(
        platform="huawei",
        device_id=check_id(body.get("deviceId"), "deviceId"),
        command_id=check_id(body.get("commandId"), "commandId"),
        state=HUAWEI[status],
        platform_status=status,
        at_ms=received_ms,
        source=Source.CALLBACK,
    )


def _parse_v5(body: dict[str, Any], received_ms: int) -> Event:
    notify = _object(body, "notify_data", "notify_data")
    header = _object(notify, "header", "notify_data.header")
    payload = _object(notify, "body", "notify_data.body")
    status = _status(payload.get("status"), "notify_data.body.status")
    at_ms = received_ms
    if body.get("event_time") is not None:
        try:
            at_ms = huawei_to_ms(body["event_time"])
        except (TypeError, ValueError):
            raise ApiError(400, "bad_field", "event_time must be yyyyMMddTHHmmssZ") from None
    return Event(
        platform="huawei",
        device_id=check_id(header.get("device_id"), "notify_data.header.device_id"),
        command_id=check_id(payload.get("command_id"), "notify_data.body.command_id"),
        state=HUAWEI[status],
        platform_status=status,
        at_ms=at_ms,
        source=Source.CALLBACK,
    )

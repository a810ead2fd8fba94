"""Huawei command status notifications: `POST /webhooks/huawei/<webhook_token>`.

Accepts the v1 body `{deviceId, commandId, result: {resultCode, resultDetail}}` and the IoTDA v5
rule-engine body (`resource: device.command.status`, read by webhooks/iotda.py `parse`), both as
the `huawei` platform's, as before `/webhooks/iotda/<token>` existed (commands created through
cmdkeeper's `iotda` platform get their pushes there). The token in the path is the only
credential Huawei's callbacks can carry; it is compared in constant time and never logged.

Only what cmdkeeper cannot use is refused: a wrong token (404), a body that is not JSON or lacks
valid device and command ids (400), a body over 64 KiB (413). Huawei does not retry a callback
answered 4xx as it would a success, and counts it toward disabling the callback URL (10
consecutive failures), so any status a body with good ids carries is answered 200: a status word
cmdkeeper does not know (platforms/huawei_vocab.py) is enqueued as an event without a state,
which the worker keeps in the timeline as not applied, with the raw word, and which asks for a
reconcile of its device. A v5 `event_time` that does not parse is replaced by the receipt time.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from cmdkeeper.metric_names import count_callbacks
from platforms import huawei_vocab
from store.model import Event, Source, storable_status
from web.callback_metrics import callback_counter
from web.http import ApiError, encoded_json_response, read_json_object, tokens_match
from web.ids import check_id
from web.services import services
from webhooks import iotda

bp = Blueprint("webhook_huawei", __name__)
bp.after_request(callback_counter("huawei"))

#: The answers to a callback taken (new, or a re-push), encoded once: every callback gets one.
ANSWERS = {True: b'{"status":"accepted"}\n', False: b'{"status":"duplicate"}\n'}

#: Where webhooks/huawei_fast.py, which serves the callbacks this view would take before Flask
#: dispatches them, leaves what stopped it (Redis away, ...) for this view to raise.
FAST_LANE_FAILURE = "cmdkeeper.huawei_fast_lane.failure"


@bp.post("/webhooks/huawei/<token>")
def receive(token: str):
    failure = request.environ.pop(FAST_LANE_FAILURE, None)
    if failure is not None:
        raise failure  # the fast lane got this callback that far: answer as for any failure
    svc = services()
    if not tokens_match(token, svc.config.webhook_token):
        raise ApiError(404, "not_found", "no such webhook")
    now = svc.clock()
    event = parse(read_json_object(request), received_ms=now)
    enqueued = svc.sink.submit([event])[0]
    count_callbacks("huawei", [event], [enqueued], now)
    return encoded_json_response(ANSWERS[enqueued])


def _event(device_id: str, command_id: str, status: Any, at_ms: int) -> Event:
    """The event of a status report; without a state when the word is not one we know."""
    state = huawei_vocab.state_of(status)
    return Event(
        platform="huawei", device_id=device_id, command_id=command_id, state=state,
        platform_status=status if state is not None else storable_status(status),
        at_ms=at_ms, source=Source.CALLBACK,
    )


def parse(body: dict[str, Any], *, received_ms: int) -> Event:
    """A v1 or v5 notification as an Event; ApiError(400) when it lacks valid ids. A v1 callback
    carries no time: the event's time is when cmdkeeper received it."""
    if body.get("resource") == iotda.RESOURCE:
        return iotda.parse(body, received_ms=received_ms, platform="huawei")
    if "resource" in body:
        # another kind of notification (device data, ...): no command status in it
        raise ApiError(400, "unsupported", f"resource must be {iotda.RESOURCE!r}")
    device_id = check_id(body.get("deviceId"), "deviceId")
    command_id = check_id(body.get("commandId"), "commandId")
    result = body.get("result")
    status = result.get("resultCode") if isinstance(result, dict) else None
    return _event(device_id, command_id, status, received_ms)

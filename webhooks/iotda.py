"""Huawei IoTDA v5 rule-engine pushes of command statuses: `POST /webhooks/iotda/<token>`.

IoTDA has no callback URL per command: a rule on resource `device.command.status`, event
`update`, forwards every status change to one HTTP URL (README, "IoTDA set-up, step by step").
The token in the path is the credential (IOTDA_WEBHOOK_TOKEN, else CMDKEEPER_WEBHOOK_TOKEN),
compared in constant time and never logged. IoTDA's own push signing exists, but its algorithm
is not public in what we found (docs/platforms.md, "IoTDA"): a deployment that knows it passes a
verifier to `create_app` (`Services.iotda_push_verifier`); by default there is none.

A push that is not answered 200 within 15 s is discarded, never retried, and 10 failures in a
row blocklist the host: every push then piles up for minutes. So this answers fast, never calls
the platform, and refuses only what it can never use (like the Huawei webhook): a wrong token
(404), a body that is not JSON or lacks valid device and command ids (400), one over 64 KiB
(413). Anything else is 200: a status cmdkeeper does not know goes on as an event without a
state (kept as not applied, its device reconciled); a push of another resource, or one that
fails a configured verifier, is ignored, counted and shown on the dashboard (web/rejections.py).
A push IoTDA discarded anyway is caught up by reconciliation.

`parse` is shared with the Huawei webhook, which takes these bodies too, as it did before this
URL existed: there they are the `huawei` platform's, read with its vocabulary (a tenant whose
commands are created through the OceanConnect-style API). Here they are the `iotda` platform's.
The push names the platform's command id; the worker finds the record cmdkeeper named
(store/lua/apply_event.lua).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from cmdkeeper.metric_names import count_callbacks
from platforms import huawei_vocab, iotda_vocab
from platforms.formats import iotda_to_ms
from store.model import Event, Source, storable_status
from web.callback_metrics import callback_counter
from web.http import ApiError, read_json_object, tokens_match
from web.ids import check_id
from web.rejections import count_rejected
from web.services import services

PLATFORM = "iotda"
RESOURCE = "device.command.status"
#: How each webhook that takes these bodies reads their status (the Huawei one: as before).
VOCABULARIES = {"iotda": iotda_vocab.state_of, "huawei": huawei_vocab.state_of}

bp = Blueprint("webhook_iotda", __name__)
bp.after_request(callback_counter(PLATFORM))


class OtherResource(Exception):
    """Raised by `parse` for a push of another resource than command statuses."""


@bp.post("/webhooks/iotda/<token>")
def receive(token: str):
    svc = services()
    if not tokens_match(token, svc.config.iotda_push_token):
        raise ApiError(404, "not_found", "no such webhook")
    verify = svc.iotda_push_verifier
    if verify is not None and not verify(request.headers, request.get_data(cache=True)):
        return _ignored("bad_signature", "the push failed its signature check")
    body = read_json_object(request)
    now = svc.clock()
    try:
        event = parse(body, received_ms=now)
    except OtherResource as e:
        return _ignored("unsupported_resource", str(e))
    enqueued = svc.sink.submit([event])[0]
    count_callbacks(PLATFORM, [event], [enqueued], now)
    return {"status": "accepted" if enqueued else "duplicate"}, 200


def _ignored(reason: str, message: str):
    count_rejected(PLATFORM, reason)
    return {"status": "ignored", "reason": reason, "message": message}, 200


def _object(parent: dict, name: str, path: str) -> dict:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise ApiError(400, "missing_field", f"{path} must be a JSON object")
    return value


def parse(body: dict[str, Any], *, received_ms: int, platform: str = PLATFORM) -> Event:
    """A rule-engine push as an Event of `platform`: ApiError(400) when it lacks valid ids,
    OtherResource for a push that carries no command status. The status field's name after
    `command_id` is unconfirmed (docs/platforms.md, "IoTDA"): a missing one is an unknown
    status."""
    if body.get("resource") != RESOURCE:
        raise OtherResource(f"resource must be {RESOURCE!r}, got {body.get('resource')!r}")
    notify = _object(body, "notify_data", "notify_data")
    header = _object(notify, "header", "notify_data.header")
    payload = _object(notify, "body", "notify_data.body")
    device_id = check_id(header.get("device_id"), "notify_data.header.device_id")
    command_id = check_id(payload.get("command_id"), "notify_data.body.command_id")
    at_ms = received_ms
    if body.get("event_time") is not None:
        try:
            at_ms = iotda_to_ms(body["event_time"])
        except (TypeError, ValueError):
            pass  # not yyyyMMddTHHmmssZ: when we received it will do
    status = payload.get("status")
    state = VOCABULARIES[platform](status) if isinstance(status, str) else None
    return Event(platform=platform, device_id=device_id, command_id=command_id, state=state,
                 platform_status=status if state is not None else storable_status(status),
                 at_ms=at_ms, source=Source.CALLBACK)

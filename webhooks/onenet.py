"""OneNET HTTP push: `GET /webhooks/onenet` (URL verification) and `POST /webhooks/onenet`.

Follows docs/platforms.md, "OneNET: push": the signature is base64(md5(token + nonce + X)) over the
raw
`msg` text as sent (plaintext mode) or the `enc_msg` string (secure mode, AES with
ONENET_AES_KEY); a `+` in a signature may arrive as a space. A push holds one message or a
batched array. Type 7 (cached command result) becomes a state event; types 1 (datapoint) and 2
(online) say the device is awake, so its commands are moving: its reconcile is brought forward,
once per device however many datapoints arrive. Other types are acknowledged and ignored.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from cmdkeeper.metric_names import count_callbacks
from platforms import onenet_push
from platforms.onenet_vocab import CONFIRM_NAMES as ONENET_CONFIRM_NAMES
from platforms.onenet_vocab import SEND_STATES as ONENET_SEND
from platforms.onenet_vocab import onenet_state
from store.model import CURRENT_ATTEMPT, Event, Source
from web.callback_metrics import callback_counter
from web.http import ApiError, read_json_object
from web.ids import check_id
from web.services import services

bp = Blueprint("webhook_onenet", __name__)
bp.after_request(callback_counter("onenet"))

#: How soon after a sign of life its device is reconciled: long enough for the released
#: commands to be answered (OneNET's command timeout is 25 s by default, 40 s at most).
AWAKE_RECONCILE_DELAY_MS = 60_000

TYPE_DATAPOINT, TYPE_ONLINE, TYPE_COMMAND = 1, 2, 7

#: The last epoch millisecond a record can show (9999-12-31T23:59:59.999Z); a pushed time past
#: it was once kept, and every read of its command failed.
MAX_EPOCH_MS = 253_402_300_799_999


def _token() -> str:
    token = services().config.onenet_push_token
    if not token:
        raise ApiError(404, "not_configured", "OneNET push is not configured")
    return token


@bp.get("/webhooks/onenet")
def verify_url():
    token = _token()
    msg, nonce, signature = (request.args.get(n) for n in ("msg", "nonce", "signature"))
    if not msg or not nonce or not signature:
        raise ApiError(400, "missing_field", "msg, nonce and signature are required")
    if not onenet_push.verify(token, nonce, msg, signature):
        raise ApiError(401, "bad_signature", "signature does not match")
    # exactly the msg value: no quotes, no JSON, no newline (a common cause of failed set-ups)
    return Response(msg, status=200, mimetype="text/plain")


@bp.post("/webhooks/onenet")
def receive():
    svc = services()
    token = _token()
    body = read_json_object(request)
    nonce, signature = body.get("nonce"), body.get("msg_signature")
    if not isinstance(nonce, str) or not isinstance(signature, str):
        raise ApiError(400, "missing_field", "nonce and msg_signature must be strings")
    if "enc_msg" in body:
        signed = body["enc_msg"]
        if not isinstance(signed, str):
            raise ApiError(400, "bad_field", "enc_msg must be a string")
    elif "msg" in body:
        signed = onenet_push.raw_msg_text(request.get_data(as_text=True))
        if signed is None:
            raise ApiError(400, "bad_field", "msg could not be located in the body")
    else:
        raise ApiError(400, "missing_field", "a push carries msg or enc_msg")
    if not onenet_push.verify(token, nonce, signed, signature):
        raise ApiError(401, "bad_signature", "msg_signature does not match")
    messages = _messages(body, signed, svc.config.onenet_aes_key)

    now = svc.clock()
    events, awake = parse(messages, received_ms=now)
    flags = svc.sink.submit(events, sorted(awake), now + AWAKE_RECONCILE_DELAY_MS)
    count_callbacks("onenet", events, flags, now)
    return {"accepted": sum(flags), "duplicates": len(flags) - sum(flags),
            "awake": len(awake)}, 200


def _messages(body: dict, signed: str, aes_key: str) -> list[Any]:
    if "enc_msg" in body:
        if not aes_key:
            raise ApiError(400, "not_configured",
                           "encrypted push received but ONENET_AES_KEY is not set")
        try:
            msg = json.loads(onenet_push.decrypt(signed, aes_key))
        except (onenet_push.PushFormatError, ValueError) as e:
            raise ApiError(400, "bad_field", f"enc_msg does not decrypt to JSON: {e}") from None
    else:
        msg = body["msg"]
    return msg if isinstance(msg, list) else [msg]


def _int(m: dict, name: str, *, required: bool = True) -> int | None:
    value = m.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "bad_field", f"msg.{name} must be an integer")
    return value


def parse(messages: list[Any], *, received_ms: int) -> tuple[list[Event], set[tuple[str, str]]]:
    """Type 7 messages as events, and the devices that types 1 and 2 show awake."""
    events: list[Event] = []
    awake: set[tuple[str, str]] = set()
    for m in messages:
        if not isinstance(m, dict):
            raise ApiError(400, "bad_field", "each msg must be a JSON object")
        kind = _int(m, "type")
        if kind == TYPE_COMMAND:
            events.append(_command_event(m, received_ms))
        elif kind in (TYPE_DATAPOINT, TYPE_ONLINE):
            if "imei" not in m:
                continue  # not an NB-IoT device: nothing of ours
            imei = check_id(m["imei"], "msg.imei")
            if kind == TYPE_DATAPOINT or _int(m, "status", required=False) == 1:
                awake.add(("onenet", imei))
    return events, awake


def _command_event(m: dict, received_ms: int) -> Event:
    send_status = _int(m, "send_status")
    confirm_status = _int(m, "confirm_status", required=False)
    if send_status not in ONENET_SEND:
        raise ApiError(400, "bad_status", f"msg.send_status must be one of {sorted(ONENET_SEND)}")
    if confirm_status is not None and confirm_status not in ONENET_CONFIRM_NAMES:
        raise ApiError(400, "bad_status", "msg.confirm_status must be 0-13")
    at = _int(m, "confirm_time", required=False) or _int(m, "send_time", required=False)
    if at is not None and not 0 < at <= MAX_EPOCH_MS:
        at = None  # not a time (microseconds?): when we received it will do
    status = str(send_status) if confirm_status is None else f"{send_status}/{confirm_status}"
    return Event(
        platform="onenet",
        device_id=check_id(m.get("imei"), "msg.imei"),
        command_id=check_id(m.get("cmd_id"), "msg.cmd_id"),
        state=onenet_state(send_status, confirm_status),
        platform_status=status,
        at_ms=at or received_ms,
        source=Source.CALLBACK,
        attempt=CURRENT_ATTEMPT,
    )

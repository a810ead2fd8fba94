"""OneNET HTTP push: `GET /webhooks/onenet` (URL verification) and `POST /webhooks/onenet`.

Follows docs/platforms.md, "OneNET: push": the signature is base64(md5(token + nonce + X)) over
the `msg` text (plaintext mode; the raw text as sent, or the compact re-serialisation China
Mobile's own receivers hash) or the `enc_msg` string (secure mode, AES with ONENET_AES_KEY); a
`+` in a signature may arrive as a space. A push holds one message or a batched array. Type 7
(cached command result) becomes a state event; types 1 (datapoint) and 2 (online) say the device
is awake, so its commands are moving: its reconcile is brought forward, once per device however
many datapoints arrive. Other types are acknowledged and ignored.

Every push is answered 200 unless cmdkeeper itself cannot take it (Redis or the job broker away:
503, and the platform retries). OneNET re-sends anything else and disables the product's push
after 2,000 failures or 24 h, and its official receivers answer 200 whatever they make of a
push: so a push that fails verification or parsing (or one bad message of a batch) is not
enqueued, but answered 200 and counted, logged and shown on the dashboard by its reason
(web/rejections.py). URL verification stays strict: it is the operator's set-up step, and a
refusal there is what they need to see.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from flask import Blueprint, Response, request

from cmdkeeper.config import Config
from cmdkeeper.metric_names import count_callbacks
from platforms import onenet_push, onenet_vocab
from store.model import CURRENT_ATTEMPT, Event, Source
from web.callback_metrics import callback_counter
from web.http import ApiError, read_json_object
from web.ids import check_id
from web.rejections import count_rejected
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


def _token(config: Config) -> str:
    if not config.onenet_push_token:
        raise ApiError(404, "not_configured", "OneNET push is not configured")
    return config.onenet_push_token


@bp.get("/webhooks/onenet")
def verify_url():
    token = _token(services().config)
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
    try:
        messages = _verified_messages(svc.config)
    except ApiError as e:
        count_rejected("onenet", e.code)
        return {"status": "ignored", "reason": e.code, "message": e.message}, 200

    now = svc.clock()
    events, awake, ignored = parse(messages, received_ms=now)
    # Redis or the broker away raises here: a 503, and OneNET sends the whole push again
    flags = svc.sink.submit(events, sorted(awake), now + AWAKE_RECONCILE_DELAY_MS)
    count_callbacks("onenet", events, flags, now)
    for reason, n in Counter(e.code for e in ignored).items():
        count_rejected("onenet", reason, n)
    answer: dict[str, Any] = {"status": "accepted", "accepted": sum(flags),
                              "duplicates": len(flags) - sum(flags), "awake": len(awake),
                              "ignored": len(ignored)}
    if ignored:
        answer["problems"] = [{"code": e.code, "message": e.message} for e in ignored[:10]]
    return answer, 200


def _verified_messages(config: Config) -> list[Any]:
    """The push's messages once its signature checks out; ApiError naming what does not."""
    token = _token(config)
    body = read_json_object(request)
    nonce, signature = body.get("nonce"), body.get("msg_signature")
    if not isinstance(nonce, str) or not isinstance(signature, str):
        raise ApiError(400, "missing_field", "nonce and msg_signature must be strings")
    if "enc_msg" in body:
        if not isinstance(body["enc_msg"], str):
            raise ApiError(400, "bad_field", "enc_msg must be a string")
        signed = [body["enc_msg"]]
    elif "msg" in body:
        raw = onenet_push.raw_msg_text(request.get_data(as_text=True))
        signed = onenet_push.signed_texts(raw, body["msg"])
    else:
        raise ApiError(400, "missing_field", "a push carries msg or enc_msg")
    if not onenet_push.verify_any(token, nonce, signed, signature):
        raise ApiError(401, "bad_signature", "msg_signature does not match")
    msg = _decrypted(body["enc_msg"], config.onenet_aes_key) if "enc_msg" in body \
        else body["msg"]
    return msg if isinstance(msg, list) else [msg]


def _decrypted(enc_msg: str, aes_key: str) -> Any:
    if not aes_key:
        raise ApiError(400, "aes_key_missing",
                       "encrypted push received but ONENET_AES_KEY is not set")
    try:
        return json.loads(onenet_push.decrypt(enc_msg, aes_key))
    except (onenet_push.PushFormatError, ValueError) as e:
        raise ApiError(400, "undecryptable", f"enc_msg does not decrypt to JSON: {e}") from None


def _int(m: dict, name: str, *, required: bool = True) -> int | None:
    value = m.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "bad_field", f"msg.{name} must be an integer")
    return value


def parse(messages: list[Any], *, received_ms: int
          ) -> tuple[list[Event], set[tuple[str, str]], list[ApiError]]:
    """Type 7 messages as events, the devices that types 1 and 2 show awake, and the problem of
    each message that could not be read (the others are taken all the same)."""
    events: list[Event] = []
    awake: set[tuple[str, str]] = set()
    ignored: list[ApiError] = []
    for m in messages:
        try:
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
        except ApiError as e:
            ignored.append(e)
    return events, awake, ignored


def _command_event(m: dict, received_ms: int) -> Event:
    send_status = _int(m, "send_status")
    confirm_status = _int(m, "confirm_status", required=False)
    if send_status not in onenet_vocab.SEND_STATES:
        raise ApiError(400, "bad_status",
                       f"msg.send_status must be one of {sorted(onenet_vocab.SEND_STATES)}")
    if confirm_status is not None and confirm_status not in onenet_vocab.CONFIRM_NAMES:
        raise ApiError(400, "bad_status", "msg.confirm_status must be 0-13")
    at = _int(m, "confirm_time", required=False) or _int(m, "send_time", required=False)
    if at is not None and not 0 < at <= MAX_EPOCH_MS:
        at = None  # not a time (microseconds?): when we received it will do
    return Event(
        platform="onenet",
        device_id=check_id(m.get("imei"), "msg.imei"),
        command_id=check_id(m.get("cmd_id"), "msg.cmd_id"),
        state=onenet_vocab.onenet_state(send_status, confirm_status),
        platform_status=onenet_vocab.status_text(send_status, confirm_status),
        at_ms=at or received_ms,
        source=Source.CALLBACK,
        attempt=CURRENT_ATTEMPT,
    )

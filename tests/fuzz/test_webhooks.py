"""Property-based bad input on the webhooks: Huawei callbacks and OneNET pushes of any shape.

Given hostile bodies, headers, tokens and query strings, when they reach the receivers, then no
answer is a 5xx or shows internals, every error is `{"error": {"code", "message"}}`, and a
rejected request leaves Redis exactly as it was (nothing enqueued, nothing deduped) — a OneNET
push not taken is answered 200 `{"status": "ignored"}`, and changes nothing either.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from platforms import onenet_push
from store import keys
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN
from tests.fuzz.hostile import (
    FUZZ,
    bodies,
    check_answer,
    encode,
    header_text,
    headers,
    json_values,
    mutated,
    path_segment,
    snapshot,
    texts,
)
from workers.events import apply_event

PUSH_TOKEN = "fuzz-push-token-5e1c"
QUEUE = "dramatiq:cmdkeeper"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
V1 = {"deviceId": "d1", "commandId": "c1", "result": {"resultCode": "DELIVERED",
                                                      "resultDetail": None}}
V5 = {"resource": "device.command.status", "event": "update", "event_time": "20240105T101530Z",
      "notify_data": {"header": {"device_id": "d1", "node_id": "n"},
                      "body": {"command_id": "c1", "status": "SUCCESSFUL", "result": {}}}}
RESULT = {"type": 7, "cmd_id": "c-1", "imei": "865820060031939", "dev_id": 1, "send_status": 5,
          "confirm_status": 0, "send_time": 1714465923000, "confirm_time": 1714465924000}
ONLINE = {"type": 2, "dev_id": 2, "imei": "862", "status": 1, "login_type": 10, "at": 1}
DATAPOINT = {"type": 1, "dev_id": 1, "imei": "861", "ds_id": "3303_0_5700", "at": 1, "value": 2}


@pytest.fixture
def secrets(config) -> list[str]:
    return config.with_(onenet_push_token=PUSH_TOKEN, onenet_aes_key=AES_KEY).secrets()


@pytest.fixture
def onenet_client(config, clock, redis_client):
    from app import create_app

    app = create_app(config.with_(onenet_push_token=PUSH_TOKEN, onenet_aes_key=AES_KEY),
                     clock=clock)
    return app.test_client()


def apply_and_read(client, redis_client, store, clock, secrets) -> int:
    """What a worker does with the queued events, then read each command back through the API:
    whatever a webhook accepted must be applicable and readable. Returns the events applied."""
    queue = redis_client.lrange(QUEUE, 0, -1)
    for message_id in queue:
        message = json.loads(redis_client.hget(QUEUE + ".msgs", message_id))
        event = message["kwargs"]["event"]
        apply_event(store, event, clock)
        response = client.get(f"/api/v1/commands/{event['platform']}/{event['command_id']}",
                              headers={"Authorization": f"Bearer {API_TOKEN}"})
        if event["state"] is None:
            # a status cmdkeeper does not know records no command it never saw: its device's
            # history is asked instead
            assert response.status_code in (200, 404)
            due = keys.device_tag(event["platform"], event["device_id"])
            assert redis_client.zscore(keys.DUE_RECONCILE, due) is not None
        else:
            assert response.status_code == 200
        check_answer(response, secrets)
    redis_client.delete(QUEUE, QUEUE + ".msgs")
    return len(queue)


def send(client, redis_client, secrets, method: str, url: str, **kwargs):
    """One request; asserts the answer's properties and, when refused, that Redis is as it was."""
    before = snapshot(redis_client)
    response = client.open(url, method=method, **kwargs)
    body = check_answer(response, secrets, text_ok=True)
    if response.status_code >= 400 or ignored(response):
        assert snapshot(redis_client) == before, f"a refused request changed Redis: {body}"
    return response


def ignored(response) -> bool:
    """A OneNET push answered 200 but not taken."""
    body = response.get_json(silent=True)
    return response.status_code == 200 and isinstance(body, dict) and \
        body.get("status") == "ignored"


@FUZZ
@given(body=st.one_of(bodies(V1), bodies(V5)), head=headers())
@example(body=b"[" * 5000, head={})  # once a RecursionError: 500
@example(body=b'{"deviceId":"d1","commandId":"c\\udfff","result":{"resultCode":"SENT"}}', head={})
@example(body=b'{"deviceId":"d1","commandId":"c1"}', head={})  # no status: accepted, no record
def test_huawei_callbacks_of_any_shape(client, redis_client, store, clock, secrets, body,
                                       head):
    response = send(client, redis_client, secrets, "POST", f"/webhooks/huawei/{WEBHOOK_TOKEN}",
                    data=body, headers=head)
    if response.status_code == 200:
        apply_and_read(client, redis_client, store, clock, secrets)


@FUZZ
@given(token=st.one_of(path_segment(), st.just(WEBHOOK_TOKEN).map(lambda t: t + "%00"),
                       st.just(WEBHOOK_TOKEN.upper()), st.just(WEBHOOK_TOKEN[:-1])),
       body=st.one_of(st.just(V1).map(encode), bodies(V1)),
       method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]))
def test_wrong_webhook_tokens_are_404_and_change_nothing(client, redis_client, secrets, token,
                                                         body, method):
    response = send(client, redis_client, secrets, method, f"/webhooks/huawei/{token}",
                    data=body, content_type="application/json")
    assert response.status_code in (308, 404, 405)


@FUZZ
@given(body=bodies({"msg": RESULT, "msg_signature": "NziTWObK9a+UGPeGh5taVQ==",
                    "nonce": "abcdefgh"}), head=headers())
@example(body=b'{"msg":{},"msg_signature":"x","nonce":"\\ud800"}', head={})  # once a 500
@example(body=b'{"msg":{},"msg_signature":"\\udfff","nonce":"n"}', head={})  # once a 500
def test_onenet_unsigned_pushes_of_any_shape(onenet_client, redis_client, secrets, body, head):
    response = send(onenet_client, redis_client, secrets, "POST", "/webhooks/onenet",
                    data=body, headers=head)
    assert response.status_code >= 400 or ignored(response), \
        "a push without a valid signature was accepted"


def signed_push(msg, nonce: str, encrypted: bool) -> bytes:
    """A push signed with the right token, whatever its message holds."""
    text = json.dumps(msg, allow_nan=True, separators=(",", ":"))
    if encrypted:
        enc = onenet_push.encrypt(text, AES_KEY)
        return encode({"enc_msg": enc, "nonce": nonce,
                       "msg_signature": onenet_push.signature(PUSH_TOKEN, nonce, enc)})
    sig = onenet_push.signature(PUSH_TOKEN, nonce, text)
    return f'{{"msg":{text},"msg_signature":"{sig}","nonce":{json.dumps(nonce)}}}'.encode()


one_message = st.one_of(mutated(RESULT), mutated(ONLINE), mutated(DATAPOINT), json_values)


@FUZZ
@given(msg=st.one_of(one_message, st.lists(one_message, max_size=5)),
       nonce=st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
       encrypted=st.booleans())
@example(msg=RESULT | {"confirm_time": 10**15}, nonce="n", encrypted=False)  # once: a 500 on read
@example(msg=RESULT | {"send_time": -1, "confirm_time": None}, nonce="n", encrypted=True)
def test_onenet_signed_pushes_with_hostile_messages(onenet_client, redis_client, store, clock,
                                                    secrets, msg, nonce, encrypted):
    response = send(onenet_client, redis_client, secrets, "POST", "/webhooks/onenet",
                    data=signed_push(msg, nonce, encrypted), content_type="application/json")
    if response.status_code == 200 and not ignored(response):
        assert apply_and_read(onenet_client, redis_client, store, clock,
                              secrets) == response.json["accepted"]


@FUZZ
@given(msg=st.one_of(texts, header_text), nonce=texts, signature=st.one_of(texts, st.none()),
       sign=st.booleans(), extra=st.dictionaries(texts, texts, max_size=2))
def test_onenet_url_verification_with_hostile_queries(onenet_client, redis_client, secrets, msg,
                                                      nonce, signature, sign, extra):
    params = {"msg": msg, "nonce": nonce, **extra}
    if sign:
        signature = onenet_push.signature(PUSH_TOKEN, nonce, msg) if _encodes(nonce + msg) \
            else signature
    if signature is not None:
        params["signature"] = signature
    query = "&".join(f"{quote(_b(k), safe='')}={quote(_b(v), safe='')}"
                     for k, v in params.items())
    response = send(onenet_client, redis_client, secrets, "GET", f"/webhooks/onenet?{query}")
    if response.status_code == 200:
        assert response.get_data() == msg.encode("utf-8"), "verification must echo msg exactly"
        assert response.mimetype == "text/plain"


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def test_a_valid_signed_verification_still_echoes_msg(onenet_client, redis_client, secrets):
    # guards the property test above against a receiver that refuses everything
    sig = onenet_push.signature(PUSH_TOKEN, "n0nce", "hello")
    response = send(onenet_client, redis_client, secrets, "GET",
                    f"/webhooks/onenet?msg=hello&nonce=n0nce&signature={quote(sig, safe='')}")
    assert response.status_code == 200 and response.get_data() == b"hello"

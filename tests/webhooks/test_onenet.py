"""OneNET push receiver: the spec's signature vectors, URL verification, plaintext and AES
pushes, batches, awake hints; tampered or malformed pushes change nothing."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from platforms import onenet_push
from store import keys

TOKEN = "testtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
QUEUE = "dramatiq:cmdkeeper"
VECTOR_MSG = ('{"type":7,"cmd_id":"3a351323-c4fe-5f21-9e9e-a9adc321182f",'
              '"imei":"865820060031939","dev_id":2016690,"send_status":5,"confirm_status":0}')


@pytest.fixture
def app(config, clock, redis_client):
    from app import create_app

    return create_app(config.with_(onenet_push_token=TOKEN, onenet_aes_key=AES_KEY), clock=clock)


def queued(redis_client) -> list[dict]:
    ids = redis_client.lrange(QUEUE, 0, -1)
    return [json.loads(redis_client.hget(QUEUE + ".msgs", i))["kwargs"]["event"] for i in ids]


def result(cmd="c-1", imei="865820060031939", send=5, confirm=0, **extra):
    return {"type": 7, "cmd_id": cmd, "imei": imei, "dev_id": 1, "send_status": send,
            "confirm_status": confirm, "send_time": 1714465923000,
            "confirm_time": 1714465924000, **extra}


def post(client, msg, *, encrypted=False, tamper=False, nonce="abcdefgh"):
    body = onenet_push.build_push_body(msg, TOKEN, encoding_aes_key=AES_KEY if encrypted else None,
                                       nonce=nonce)
    if tamper:
        body = body.replace('"send_status":5', '"send_status":6')
    return client.post("/webhooks/onenet", data=body, content_type="application/json")


def test_spec_test_vectors():
    assert onenet_push.signature("testtoken", "abcdefgh", "hello_verify") == \
        "ayczRV/Ltb3ikVzdkxKfMQ=="
    assert onenet_push.signature("testtoken", "abcdefgh", VECTOR_MSG) == \
        "NziTWObK9a+UGPeGh5taVQ=="


def test_url_verification_answers_exactly_msg(client):
    url = (f"/webhooks/onenet?msg=hello_verify&nonce=abcdefgh"
           f"&signature={quote('ayczRV/Ltb3ikVzdkxKfMQ==')}")
    response = client.get(url)
    assert response.status_code == 200 and response.get_data() == b"hello_verify"
    assert response.mimetype == "text/plain"


def test_url_verification_accepts_plus_arriving_as_space(client):
    nonce = next(n for n in (f"nonce{i:03d}" for i in range(1000))
                 if "+" in onenet_push.signature(TOKEN, n, "m"))
    sig = onenet_push.signature(TOKEN, nonce, "m")
    # an unencoded + in a query string is decoded as a space
    response = client.get(f"/webhooks/onenet?msg=m&nonce={nonce}&signature={sig}")
    assert response.status_code == 200 and response.get_data() == b"m"


def test_url_verification_with_a_bad_signature_is_401(client):
    response = client.get("/webhooks/onenet?msg=x&nonce=abcdefgh&signature=AAAA")
    assert response.status_code == 401 and response.get_data() != b"x"


def test_the_raw_msg_text_is_what_is_verified(client, redis_client):
    # the vector's exact text, with a key order a re-serialiser would not reproduce
    body = ('{"msg":' + VECTOR_MSG + ',"msg_signature":"NziTWObK9a+UGPeGh5taVQ==",'
            '"nonce":"abcdefgh"}')
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert response.status_code == 200 and response.json["accepted"] == 1
    [event] = queued(redis_client)
    assert (event["state"], event["platform_status"], event["attempt"]) == ("SUCCEEDED", "5/0",
                                                                           -1)


@pytest.mark.parametrize("encrypted", [False, True])
def test_result_push_becomes_an_event(client, redis_client, encrypted):
    response = post(client, result(confirm=5), encrypted=encrypted)
    assert response.status_code == 200
    [event] = queued(redis_client)
    assert event["command_id"] == "c-1" and event["device_id"] == "865820060031939"
    assert event["state"] == "TIMEOUT" and event["at_ms"] == 1714465924000


def test_batches_dedupe_and_awake_hints(client, redis_client, clock):
    batch = [result("a"), result("a"), result("b", send=6, confirm=None),
             {"type": 1, "dev_id": 1, "imei": "861", "ds_id": "3303_0_5700", "at": 1, "value": 2},
             {"type": 1, "dev_id": 1, "imei": "861", "ds_id": "3303_0_5700", "at": 2, "value": 3},
             {"type": 2, "dev_id": 2, "imei": "862", "status": 1, "login_type": 10, "at": 1},
             {"type": 2, "dev_id": 3, "imei": "863", "status": 0, "login_type": 10, "at": 1},
             {"type": 5, "whatever": True}]
    response = post(client, batch)
    assert response.json == {"accepted": 2, "duplicates": 1, "awake": 2}
    assert [e["state"] for e in queued(redis_client)] == ["SUCCEEDED", "FAILED"]
    due = dict(redis_client.zrange(keys.DUE_RECONCILE, 0, -1, withscores=True))
    assert due == {"onenet:861": clock() + 60_000, "onenet:862": clock() + 60_000}


@pytest.mark.parametrize("mutate,status", [
    (dict(tamper=True), 401),
    (dict(nonce="zzzzzzzz", tamper=True), 401),
])
def test_tampered_push_is_401_and_changes_nothing(client, redis_client, mutate, status):
    assert post(client, result(), **mutate).status_code == status
    assert redis_client.dbsize() == 0


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"nonce": "abcdefgh", "msg_signature": "x"}',
    b'{"msg": {}, "nonce": 5, "msg_signature": "x"}',
])
def test_malformed_push_is_400(client, redis_client, body):
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert response.status_code == 400
    assert redis_client.dbsize() == 0


@pytest.mark.parametrize("msg", [
    result(send=9), result(confirm=42), result(cmd=None), result(imei="86 1"),
    {"type": "7"}, "just text",
])
def test_signed_but_malformed_message_is_400_and_nothing_is_enqueued(client, redis_client, msg):
    assert post(client, [result("fine"), msg]).status_code == 400
    assert redis_client.dbsize() == 0


def test_encrypted_push_with_the_wrong_key_is_400(client, redis_client):
    body = onenet_push.build_push_body(result(), TOKEN, encoding_aes_key="Z" * 43)
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert response.status_code == 400 and redis_client.dbsize() == 0


def test_oversize_push_is_413(client, redis_client):
    response = post(client, [result(str(i)) for i in range(600)])
    assert response.status_code == 413 and redis_client.dbsize() == 0


def test_unconfigured_push_is_404(config, clock, redis_client):
    from app import create_app

    plain = create_app(config, clock=clock).test_client()
    assert post(plain, result()).status_code == 404

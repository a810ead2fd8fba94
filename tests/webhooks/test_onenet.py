"""OneNET push receiver: the spec's signature vectors, URL verification, plaintext and AES
pushes, batches, awake hints; a tampered or malformed push is answered 200 (OneNET disables a
push that keeps failing) and changes nothing but the count of pushes not taken."""

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


def state_keys(redis_client) -> list[str]:
    """Every key but the metrics' (a rejection is counted, and the flusher may write it)."""
    return sorted(k for k in redis_client.scan_iter() if not k.startswith(keys.METRIC_COUNTERS))


def assert_ignored(response, reason: str) -> None:
    assert response.status_code == 200, response.data
    assert response.json["status"] == "ignored" and response.json["reason"] == reason


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


def test_a_signature_without_its_padding_verifies(client, redis_client):
    # China Mobile's PHP receiver strips `=` from both sides before comparing
    response = client.get("/webhooks/onenet?msg=hello_verify&nonce=abcdefgh"
                          f"&signature={quote('ayczRV/Ltb3ikVzdkxKfMQ')}")
    assert response.status_code == 200 and response.get_data() == b"hello_verify"
    body = ('{"msg":' + VECTOR_MSG + ',"msg_signature":"NziTWObK9a+UGPeGh5taVQ",'
            '"nonce":"abcdefgh"}')
    pushed = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert pushed.json["accepted"] == 1


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


def signed_over(text: str, nonce: str = "abcdefgh") -> str:
    return onenet_push.signature(TOKEN, nonce, text)


def test_spaced_json_signed_over_its_compact_form_is_accepted(client, redis_client):
    # what China Mobile's own receivers hash: a compact re-serialisation of the parsed msg
    msg = result("spaced")
    spaced = json.dumps(msg, indent=1)
    body = (f'{{"msg": {spaced}, "msg_signature": '
            f'"{signed_over(json.dumps(msg, separators=(",", ":")))}", "nonce": "abcdefgh"}}')
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert response.status_code == 200 and response.json["accepted"] == 1
    assert [e["command_id"] for e in queued(redis_client)] == ["spaced"]


def test_a_signature_over_php_json_encode_text_is_accepted(client, redis_client):
    # PHP's json_encode writes non-ASCII as \uXXXX and / as \/
    msg = {"type": 1, "dev_id": 1, "imei": "861", "ds_id": "温度/3303_0_5700", "at": 1,
           "value": 2}
    php = json.dumps(msg, separators=(",", ":")).replace("/", "\\/")
    assert "\\u6e29" in php and "\\/" in php
    raw = json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
    body = f'{{"msg":{raw},"msg_signature":"{signed_over(php)}","nonce":"abcdefgh"}}'
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert response.status_code == 200 and response.json["awake"] == 1


def test_a_signature_over_other_content_is_still_refused(client, redis_client):
    other = json.dumps(result("other"), separators=(",", ":"))
    body = (f'{{"msg":{json.dumps(result("mine"), separators=(",", ":"))},'
            f'"msg_signature":"{signed_over(other)}","nonce":"abcdefgh"}}')
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert_ignored(response, "bad_signature")
    assert state_keys(redis_client) == []


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
    assert response.json == {"status": "accepted", "accepted": 2, "duplicates": 1, "awake": 2,
                             "ignored": 0}
    assert [e["state"] for e in queued(redis_client)] == ["SUCCEEDED", "FAILED"]
    due = dict(redis_client.zrange(keys.DUE_RECONCILE, 0, -1, withscores=True))
    assert due == {"onenet:861": clock() + 60_000, "onenet:862": clock() + 60_000}


@pytest.mark.parametrize("mutate", [dict(tamper=True), dict(nonce="zzzzzzzz", tamper=True)])
def test_a_tampered_push_is_answered_200_and_changes_nothing(client, redis_client, mutate):
    assert_ignored(post(client, result(), **mutate), "bad_signature")
    assert state_keys(redis_client) == []


@pytest.mark.parametrize("body,reason", [
    (b"not json", "bad_json"), (b"[]", "bad_request"), (b"", "bad_request"),
    (b'{"nonce": "abcdefgh", "msg_signature": "x"}', "missing_field"),
    (b'{"msg": {}, "nonce": 5, "msg_signature": "x"}', "missing_field"),
    (b'{"enc_msg": 5, "nonce": "n", "msg_signature": "x"}', "bad_field"),
])
def test_a_malformed_push_is_answered_200_and_changes_nothing(client, redis_client, body,
                                                              reason):
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert_ignored(response, reason)
    assert state_keys(redis_client) == []


@pytest.mark.parametrize("msg,reason", [
    (result(send=9), "bad_status"), (result(confirm=42), "bad_status"),
    (result(cmd=None), "bad_field"), (result(imei="86 1"), "bad_field"),
    ({"type": "7"}, "bad_field"), ("just text", "bad_field"),
])
def test_a_bad_message_of_a_signed_batch_is_ignored_and_the_rest_taken(client, redis_client,
                                                                       msg, reason):
    response = post(client, [result("fine"), msg])
    assert response.status_code == 200
    assert response.json["accepted"] == 1 and response.json["ignored"] == 1
    assert response.json["problems"][0]["code"] == reason
    assert [e["command_id"] for e in queued(redis_client)] == ["fine"]


def test_an_encrypted_push_with_the_wrong_key_is_ignored(client, redis_client):
    body = onenet_push.build_push_body(result(), TOKEN, encoding_aes_key="Z" * 43)
    response = client.post("/webhooks/onenet", data=body, content_type="application/json")
    assert_ignored(response, "undecryptable")
    assert state_keys(redis_client) == []


def test_an_encrypted_push_without_an_aes_key_is_ignored(config, clock, redis_client):
    from app import create_app

    plain = create_app(config.with_(onenet_push_token=TOKEN), clock=clock).test_client()
    assert_ignored(post(plain, result(), encrypted=True), "aes_key_missing")
    assert state_keys(redis_client) == []


def test_an_oversize_push_is_ignored(client, redis_client):
    assert_ignored(post(client, [result(str(i)) for i in range(600)]), "too_large")
    assert state_keys(redis_client) == []


def test_a_push_while_push_is_not_configured_is_ignored_but_verification_is_404(
        config, clock, redis_client):
    from app import create_app

    plain = create_app(config, clock=clock).test_client()
    assert_ignored(post(plain, result()), "not_configured")
    assert plain.get("/webhooks/onenet?msg=m&nonce=n&signature=s").status_code == 404


def test_with_redis_away_a_push_is_503_so_that_the_platform_retries(config, clock):
    from app import create_app

    away = create_app(config.with_(onenet_push_token=TOKEN,
                                   redis_url="redis://127.0.0.1:9/0"), clock=clock)
    response = post(away.test_client(), result())
    assert response.status_code == 503 and response.headers["Retry-After"]

"""The emulator's push bodies against the test vectors in docs/platforms.md, "OneNET: push", and
the AES round trip."""

from __future__ import annotations

import base64
import json

import pytest

from emulator.push import PushConfigError, PushTarget
from platforms.onenet_push import decrypt, raw_msg_text, signature

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
VECTOR_MSG = {"type": 7, "cmd_id": "3a351323-c4fe-5f21-9e9e-a9adc321182f",
              "imei": "865820060031939", "dev_id": 2016690, "send_status": 5,
              "confirm_status": 0}


def test_the_verification_signature_vector():
    assert signature("testtoken", "abcdefgh", "hello_verify") == "ayczRV/Ltb3ikVzdkxKfMQ=="


def test_a_plaintext_push_body_carries_the_vector_signature_over_the_raw_msg():
    body = PushTarget("http://x/push", "testtoken").body(VECTOR_MSG, "abcdefgh")

    parsed = json.loads(body)
    assert parsed["msg_signature"] == "NziTWObK9a+UGPeGh5taVQ=="
    assert parsed["nonce"] == "abcdefgh" and parsed["msg"] == VECTOR_MSG
    assert raw_msg_text(body) == json.dumps(VECTOR_MSG, separators=(",", ":"))


@pytest.mark.parametrize("block", [16, 32])
def test_a_secure_push_round_trips_through_aes(block):
    msg = {"type": 1, "imei": "869975031234561", "value": "温度 23.5"}

    body = json.loads(PushTarget("http://x/push", "tok", AES_KEY, block).body(msg, "n0nce123"))

    cipher = base64.b64decode(body["enc_msg"])
    assert len(cipher) % block == 0
    assert body["msg_signature"] == signature("tok", "n0nce123", body["enc_msg"])
    assert json.loads(decrypt(body["enc_msg"], AES_KEY)) == msg


@pytest.mark.parametrize("target", [
    PushTarget("ftp://x", "tok"), PushTarget("http://x", ""),
    PushTarget("http://x", "tok", "too-short"), PushTarget("http://x", "tok", None, 8),
])
def test_malformed_push_targets_are_refused(target):
    with pytest.raises(PushConfigError):
        target.check()

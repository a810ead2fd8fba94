"""What real clients found in the emulator, each checked the way that client works.

- zeevin/libiocm (PHP) logs in to Huawei with a form body and no Content-Type at all;
- China Mobile's PHP receiver (cm-heclouds/data-push, PHP/util.php) reads the URL verification
  through `$_GET` (a `+` becomes a space) and compares it with its own signature after turning
  `+` into spaces: a signature sent as `%2B` fails about one handshake in four;
- the same receiver checks a push by re-encoding the `msg` it decoded (`json_decode($body,
  TRUE)`, then `json_encode`): an empty `{}` comes back as `[]`, so a `"confirm_body": {}`
  failed every write and execute result.

The two PHP checks are written out below as util.php does them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs

import requests

from emulator.push import PushTarget, verify_url
from platforms.formats import ms_to_onenet
from platforms.onenet_push import signature
from tests.emulator.helpers import APP_ID, LOGIN, SECRET

TOKEN = "push-token-1"
IMEI = "869975031234563"
HOUR_MS = 3_600_000


def _php_sig(token: str, nonce: str, text: str) -> str:
    return base64.b64encode(hashlib.md5((token + nonce + text).encode()).digest()).decode()


def php_check_url(query: str, token: str) -> bool:
    """util.php `_checkSignature($_GET, $token)`."""
    get = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}  # like $_GET
    mine = _php_sig(token, get["nonce"], get["msg"]).replace("+", " ").rstrip("=")
    return mine == get["signature"].rstrip("=")


def php_json_encode(value: Any) -> str:
    """PHP's json_encode of what `json_decode(..., TRUE)` gave: `\\uXXXX`, `\\/`, compact."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def php_check_push(body: str, token: str) -> bool:
    """util.php `_handleRuleMsg(json_decode($body, TRUE), $token)`."""
    decoded = json.loads(body, object_hook=lambda d: d or [])  # an empty object is array()
    mine = _php_sig(token, decoded["nonce"], php_json_encode(decoded["msg"]))
    return mine.rstrip("=") == decoded["msg_signature"].rstrip("=")


def test_a_huawei_login_form_without_a_content_type_is_read(base_url, emu):
    sent = requests.post(base_url + LOGIN, data=f"appId={APP_ID}&secret={SECRET}".encode(),
                         timeout=5)

    assert "Content-Type" not in sent.request.headers  # as libiocm sends it
    assert sent.status_code == 200, sent.text
    assert sent.json()["accessToken"]


def test_a_php_receiver_passes_the_url_verification_whatever_the_signature_holds(receiver):
    target = PushTarget(receiver.url + "/push", TOKEN)
    nonces = [f"n{i:07d}" for i in range(40)]
    with_plus = [n for n in nonces if "+" in signature(TOKEN, n, "hello")]
    assert with_plus, "some signatures must hold a +"

    for nonce in nonces:
        assert verify_url(target, "hello", nonce)["verified"] is True

    handshakes = [r for r in receiver.requests if r.method == "GET"]
    assert len(handshakes) == len(nonces)
    assert all(php_check_url(h.query, TOKEN) for h in handshakes)
    raw = next(h.query for h in handshakes if h.args["nonce"] == with_plus[0])
    assert f"signature={signature(TOKEN, with_plus[0], 'hello')}" in raw  # `+` unescaped


def test_a_php_receiver_verifies_every_push_of_a_write_a_read_and_an_execute(
        onenet, emu, receiver, start_ms):
    emu.add_device("onenet", IMEI, wake_period_s=0, awake_s=60, notify_on_wake=False)
    assert emu.set_onenet_push(receiver.url + "/push", TOKEN)["verified"] is True
    expired = {"imei": IMEI, "expired_time": ms_to_onenet(start_ms + HOUR_MS)}
    writes = onenet.call("POST", "/nbiot/offline", {**expired, "obj_id": 3311, "obj_inst_id": 0,
                                                     "mode": 1},
                         json={"data": [{"res_id": 5850, "val": True}]})
    read = onenet.call("GET", "/nbiot/offline", {**expired, "obj_id": 3303, "obj_inst_id": 0,
                                                  "res_id": 5700})
    execute = onenet.call("POST", "/nbiot/execute/offline", {**expired, "obj_id": 3311,
                                                              "obj_inst_id": 0, "res_id": 5850},
                          json={"args": "go"})
    uuids = [r.json()["data"]["uuid"] for r in (writes, read, execute)]

    emu.wake("onenet", IMEI)
    emu.advance(30)
    emu.flush()

    results = {m["cmd_id"]: m for push in receiver.posts("/push")
               if (m := push.json()["msg"])["type"] == 7}
    assert set(results) == set(uuids)
    assert all((m["send_status"], m["confirm_status"]) == (5, 0) for m in results.values())
    assert "confirm_body" not in results[uuids[0]] and "confirm_body" not in results[uuids[2]]
    assert results[uuids[1]]["confirm_body"]["obj_id"] == 3303
    assert all(php_check_push(push.body, TOKEN) for push in receiver.posts("/push"))

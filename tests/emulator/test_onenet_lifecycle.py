"""OneNET release-on-uplink lifecycle, retries and `remain`, expiry, and the signed pushes."""

from __future__ import annotations

import json

import pytest

from emulator.client import EmulatorError
from platforms.onenet_push import decrypt, raw_msg_text, signature, verify

IMEI = "869975031234562"
TOKEN = "push-token-1"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def imei(emu):
    emu.add_device("onenet", IMEI, wake_period_s=0, awake_s=20)
    return IMEI


@pytest.fixture
def pushes(emu, receiver):
    """The push goes to the receiver's /push, plaintext, verified by the GET handshake."""
    result = emu.set_onenet_push(receiver.url + "/push", TOKEN)
    assert result["verified"] is True
    return receiver


def messages(receiver, count: int) -> list[dict]:
    """The `msg` of the first `count` pushes, after checking each one's signature."""
    out = []
    for push in receiver.wait_for(count, "/push")[:count]:
        body = push.json()
        text = raw_msg_text(push.body)
        assert verify(TOKEN, body["nonce"], text, body["msg_signature"])
        out.append(json.loads(text))
    return out


def sends(emu, uuid: str) -> list[int]:
    return [h["status"] for h in emu.command("onenet", uuid)["history"]]


def test_the_url_verification_handshake_is_signed_and_must_echo_msg(emu, receiver):
    good = emu.set_onenet_push(receiver.url + "/push", TOKEN)
    handshake = [r for r in receiver.requests if r.method == "GET"][0]
    receiver.verify_reply = '"quoted"'
    with pytest.raises(EmulatorError) as refused:
        emu.set_onenet_push(receiver.url + "/push", "other-token")

    assert good["verified"] is True
    args = handshake.args
    assert len(args["nonce"]) == 8
    # the signature goes unescaped, so a `+` in it reads as a space once decoded
    assert args["signature"].replace(" ", "+") == signature(TOKEN, args["nonce"], args["msg"])
    assert refused.value.status == 409
    assert emu.status()["onenet_push"]["token"] == TOKEN


def test_a_waking_device_goes_online_sends_a_datapoint_and_takes_its_command(
        onenet, emu, imei, pushes, start_ms):
    uuid = onenet.uuid(imei, start_ms)

    emu.wake("onenet", imei)
    emu.advance(2)
    emu.flush()  # the push's outcome is recorded (feedback_msg) once it has been answered

    online, datapoint, result = messages(pushes, 3)
    assert online == {"type": 2, "dev_id": online["dev_id"], "imei": imei, "status": 1,
                      "login_type": 10, "at": start_ms}
    assert datapoint["type"] == 1 and datapoint["ds_id"] == "3303_0_5700"
    assert isinstance(datapoint["value"], float) and datapoint["at"] == start_ms
    assert result["type"] == 7 and result["cmd_id"] == uuid and result["cmd_type"] == 0
    assert (result["send_status"], result["confirm_status"]) == (5, 0)
    assert result["send_time"] == start_ms and result["confirm_time"] == start_ms + 2000
    assert result["confirm_body"]["obj_id"] == 3303
    assert sends(emu, uuid) == [1, 3, 5]
    detail = onenet.detail(imei, uuid)
    assert detail["confirm_status"] == "SUCCESS" and detail["send_time"] == "2024-01-01 08:00:00"
    assert detail["cmd_result"] == result["confirm_body"]
    assert detail["feedback_msg"] == [{"feedback_time": "2024-01-01 08:00:02",
                                       "feedback_status": 0}]


def test_a_device_going_back_to_sleep_pushes_offline(emu, imei, pushes, start_ms):
    emu.wake("onenet", imei)
    emu.advance(20)

    offline = messages(pushes, 3)[2]
    assert offline["type"] == 2 and offline["status"] == 0
    assert offline["at"] == start_ms + 20_000
    assert emu.device("onenet", imei)["awake"] is False


def test_a_failure_answer_is_send_status_5_with_its_confirm_status(onenet, emu, imei, pushes,
                                                                   start_ms):
    emu.update_device("onenet", imei, failure_p=1.0, failure_code=3, notify_on_wake=False)
    uuid = onenet.uuid(imei, start_ms)

    emu.wake("onenet", imei)
    emu.advance(2)

    result = messages(pushes, 2)[1]
    assert (result["send_status"], result["confirm_status"]) == (5, 3)
    assert "confirm_body" not in result
    assert onenet.detail(imei, uuid)["confirm_status"] == "NOT_FOUND"


def test_no_answer_spends_remain_at_each_uplink_then_fails(onenet, emu, imei, pushes, start_ms):
    emu.update_device("onenet", imei, no_answer_p=1.0, notify_on_wake=False)
    uuid = onenet.uuid(imei, start_ms, retry=1, timeout=10)

    emu.wake("onenet", imei)
    emu.advance(10)
    after_first = onenet.detail(imei, uuid)
    emu.advance(5)
    same_wake = sends(emu, uuid)
    emu.wake("onenet", imei, uplink="update")
    emu.advance(10)

    assert (after_first["send_status"], after_first["remain"]) == (1, 0)
    assert same_wake == [1, 3, 1]
    assert sends(emu, uuid) == [1, 3, 1, 3, 6]
    final = onenet.detail(imei, uuid)
    assert final["confirm_status"] == "TIME_OUT" and final["remain"] == 0
    result = messages(pushes, 2)[1]
    assert (result["type"], result["send_status"], result["confirm_status"]) == (7, 6, 5)


def test_a_waiting_command_expires_at_expired_time(onenet, emu, imei, start_ms):
    uuid = onenet.uuid(imei, start_ms)

    emu.advance(3599)
    before = onenet.detail(imei, uuid)["send_status"]
    emu.advance(1)

    assert before == 1
    assert onenet.detail(imei, uuid)["send_status"] == 4
    emu.wake("onenet", imei)
    assert sends(emu, uuid) == [1, 4]


def test_trigger_msg_selects_the_uplinks_that_release_a_command(onenet, emu, imei, start_ms):
    emu.update_device("onenet", imei, notify_on_wake=False)
    notify_only = onenet.uuid(imei, start_ms, trigger_msg=4)

    emu.wake("onenet", imei)
    after_register = sends(emu, notify_only)
    emu.wake("onenet", imei, uplink="notify")

    assert after_register == [1]
    assert sends(emu, notify_only) == [1, 3]


def test_a_command_needs_an_uplink_after_its_creation_and_valid_time(onenet, emu, imei,
                                                                     start_ms):
    emu.wake("onenet", imei)
    uuid = onenet.uuid(imei, start_ms)

    emu.advance(1)
    no_new_uplink = sends(emu, uuid)
    emu.wake("onenet", imei, uplink="update")

    assert no_new_uplink == [1]
    assert sends(emu, uuid) == [1, 3]


def test_secure_mode_pushes_encrypt_and_sign_enc_msg(onenet, emu, imei, receiver, start_ms):
    emu.set_onenet_push(receiver.url + "/push", TOKEN, aes_key=AES_KEY, block=32)
    emu.update_device("onenet", imei, notify_on_wake=False)

    emu.wake("onenet", imei)

    body = receiver.wait_for(1, "/push")[0].json()
    assert set(body) == {"enc_msg", "msg_signature", "nonce"}
    assert verify(TOKEN, body["nonce"], body["enc_msg"], body["msg_signature"])
    msg = json.loads(decrypt(body["enc_msg"], AES_KEY))
    assert msg["type"] == 2 and msg["imei"] == imei


def test_push_configuration_is_checked(emu):
    with pytest.raises(EmulatorError) as bad_key:
        emu.set_onenet_push("http://127.0.0.1:9/push", TOKEN, aes_key="short", verify=False)
    with pytest.raises(EmulatorError) as bad_block:
        emu.set_onenet_push("http://127.0.0.1:9/push", TOKEN, block=24, verify=False)

    assert bad_key.value.status == 400 and bad_block.value.status == 400

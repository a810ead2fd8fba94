"""Huawei device commands: create, query, cancel, and the device lifecycle with callbacks."""

from __future__ import annotations

import re

import pytest

from platforms.formats import ms_to_huawei

DEV = "0f5d4b7e-1c2a-4c3d-9e8f-1234567890ab"


@pytest.fixture
def device(emu):
    """A Huawei device that wakes only when told to."""
    emu.add_device("huawei", DEV, wake_period_s=0)
    return DEV


def statuses(emu, command_id: str) -> list[str]:
    return [h["status"] for h in emu.command("huawei", command_id)["history"]]


def callback_codes(receiver, count: int) -> list[str]:
    return [c.json()["result"]["resultCode"] for c in receiver.wait_for(count, "/cb")]


def test_create_answers_a_pending_command_with_the_documented_fields(huawei, device, start_ms):
    r = huawei.create(device, "http://127.0.0.1:9/cb", maxRetransmit=2)

    assert r.status_code == 200
    body = r.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["commandId"])
    assert body["status"] == "PENDING" and body["deviceId"] == device
    assert body["expireTime"] == 172800 and body["maxRetransmit"] == 2
    assert body["creationTime"] == ms_to_huawei(start_ms) and body["issuedTimes"] == 0
    assert body["command"] == {"serviceId": "Valve", "method": "SET_STATE", "paras": {"state": 1}}
    assert body["platformIssuedTime"] is None and body["result"] is None


@pytest.mark.parametrize("body", [
    {"command": {"serviceId": "S", "method": "M"}},
    {"deviceId": DEV},
    {"deviceId": DEV, "command": {"method": "M"}},
    {"deviceId": DEV, "command": {"serviceId": "S", "method": "M"}, "expireTime": -1},
    {"deviceId": DEV, "command": {"serviceId": "S", "method": "M"}, "expireTime": "60"},
    {"deviceId": DEV, "command": {"serviceId": "S", "method": "M"}, "maxRetransmit": 4},
    {"deviceId": DEV, "command": {"serviceId": "S", "method": "M"}, "callbackUrl": "ftp://x"},
    {"deviceId": DEV, "command": {"serviceId": "S", "method": "M", "paras": [1]}},
])
def test_bad_input_is_400_100022(huawei, device, body):
    r = huawei.call("POST", "/deviceCommands", json=body)

    assert r.status_code == 400
    assert r.json()["error_code"] == "100022" and r.json()["error_desc"]


def test_a_body_that_is_not_json_is_100022(huawei, device):
    r = huawei.call("POST", "/deviceCommands", data="{nope")

    assert (r.status_code, r.json()["error_code"]) == (400, "100022")


def test_an_unknown_device_is_404_100418(huawei, emu):
    r = huawei.create("no-such-device")

    assert (r.status_code, r.json()["error_code"]) == (404, "100418")


def test_a_device_holds_at_most_20_pending_commands(huawei, device):
    ids = [huawei.command_id(device) for _ in range(20)]

    over = huawei.create(device)
    huawei.call("PUT", f"/deviceCommands/{ids[0]}", json={"status": "CANCELED"})
    after_cancel = huawei.create(device)

    assert (over.status_code, over.json()["error_code"]) == (400, "100223")
    assert after_cancel.status_code == 200


def test_query_pages_filters_by_device_and_time_newest_first(huawei, emu, device, start_ms):
    emu.add_device("huawei", "other", wake_period_s=0)
    early = [huawei.command_id(device) for _ in range(3)]
    huawei.command_id("other")
    emu.advance(3600)
    huawei.login()  # the token has expired meanwhile
    late = huawei.command_id(device)

    page = huawei.call("GET", "/deviceCommands",
                       params={"deviceId": device, "pageNo": 1, "pageSize": 2}).json()
    window = huawei.call("GET", "/deviceCommands", params={
        "startTime": ms_to_huawei(start_ms + 1800_000)}).json()
    before = huawei.call("GET", "/deviceCommands", params={
        "deviceId": device, "endTime": ms_to_huawei(start_ms)}).json()

    assert page["pagination"] == {"pageNo": 1, "pageSize": 2, "totalSize": 4}
    assert [c["commandId"] for c in page["data"]] == early[1::-1]
    assert [c["commandId"] for c in window["data"]] == [late]
    assert sorted(c["commandId"] for c in before["data"]) == sorted(early)


@pytest.mark.parametrize("params", [{"pageSize": 0}, {"pageSize": 1001}, {"pageNo": -1},
                                    {"startTime": "2024-01-01"}])
def test_query_rejects_bad_parameters(huawei, params):
    r = huawei.call("GET", "/deviceCommands", params=params)

    assert (r.status_code, r.json()["error_code"]) == (400, "100022")


def test_cancel_works_only_while_pending(huawei, emu, device):
    command_id = huawei.command_id(device)

    r = huawei.call("PUT", f"/deviceCommands/{command_id}", json={"status": "CANCELED"})
    again = huawei.call("PUT", f"/deviceCommands/{command_id}", json={"status": "CANCELED"})
    unknown = huawei.call("PUT", "/deviceCommands/" + "0" * 32, json={"status": "CANCELED"})
    bad = huawei.call("PUT", f"/deviceCommands/{command_id}", json={"status": "SENT"})

    assert r.status_code == 200 and r.json()["status"] == "CANCELED"
    assert (again.status_code, again.json()["error_code"]) == (400, "100022")
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "101001")
    assert (bad.status_code, bad.json()["error_code"]) == (400, "100022")
    assert statuses(emu, command_id) == ["PENDING", "CANCELED"]


def test_a_command_runs_sent_delivered_successful_with_a_callback_for_each(
        huawei, emu, device, receiver, start_ms):
    command_id = huawei.command_id(device, receiver.url + "/cb")

    emu.wake("huawei", device)
    emu.advance(5)

    assert callback_codes(receiver, 3) == ["SENT", "DELIVERED", "SUCCESSFUL"]
    first = receiver.posts("/cb")[0].json()
    assert first == {"deviceId": device, "commandId": command_id,
                     "result": {"resultCode": "SENT", "resultDetail": None}}
    truth = emu.command("huawei", command_id)
    assert [h["status"] for h in truth["history"]] == ["PENDING", "SENT", "DELIVERED",
                                                       "SUCCESSFUL"]
    assert truth["sent"] is True and truth["first_sent_ms"] == start_ms
    got = huawei.call("GET", "/deviceCommands", params={"deviceId": device}).json()["data"][0]
    assert got["deliveredTime"] == ms_to_huawei(start_ms + 1000) and got["issuedTimes"] == 1


def test_a_failing_device_ends_failed(huawei, emu, device, receiver):
    emu.update_device("huawei", device, failure_p=1.0)
    command_id = huawei.command_id(device, receiver.url + "/cb")

    emu.wake("huawei", device)
    emu.advance(5)

    assert callback_codes(receiver, 3) == ["SENT", "DELIVERED", "FAILED"]
    assert statuses(emu, command_id)[-1] == "FAILED"


def test_no_ack_is_timeout_after_the_retransmission_window(huawei, emu, device, receiver,
                                                           start_ms):
    emu.update_device("huawei", device, no_answer_p=1.0)
    command_id = huawei.command_id(device, receiver.url + "/cb", maxRetransmit=1)

    emu.wake("huawei", device)
    emu.advance(79)
    sent_only = statuses(emu, command_id)
    emu.advance(41)

    assert sent_only == ["PENDING", "SENT"]
    history = emu.command("huawei", command_id)["history"]
    assert history[-1]["status"] == "TIMEOUT"
    assert 80_000 <= history[-1]["at_ms"] - start_ms <= 120_000
    assert callback_codes(receiver, 2) == ["SENT", "TIMEOUT"]
    got = huawei.call("GET", "/deviceCommands").json()["data"][0]
    assert got["issuedTimes"] == 2


def test_queued_commands_go_one_at_a_time_in_order(huawei, emu, device):
    ids = [huawei.command_id(device) for _ in range(3)]

    emu.wake("huawei", device)
    first_only = [emu.command("huawei", c)["status"] for c in ids]
    emu.advance(10)

    assert first_only == ["SENT", "PENDING", "PENDING"]
    truths = [emu.command("huawei", c) for c in ids]
    assert [t["status"] for t in truths] == ["SUCCESSFUL"] * 3
    sent = [t["first_sent_ms"] for t in truths]
    done = [t["history"][-1]["at_ms"] for t in truths]
    assert sent[1] >= done[0] and sent[2] >= done[1] and sent == sorted(sent)


def test_a_pending_command_expires_without_a_callback(huawei, emu, device, receiver):
    command_id = huawei.command_id(device, receiver.url + "/cb", expireTime=60)

    emu.advance(59)
    before = statuses(emu, command_id)[-1]
    emu.advance(1)
    emu.flush()

    assert before == "PENDING"
    assert statuses(emu, command_id) == ["PENDING", "EXPIRED"]
    assert receiver.posts("/cb") == []


def test_an_immediate_command_to_a_sleeping_device_times_out(huawei, emu, device):
    command_id = huawei.command_id(device, expireTime=0)

    emu.advance(121)

    assert statuses(emu, command_id) == ["PENDING", "SENT", "TIMEOUT"]


def test_a_device_wakes_on_its_own_psm_period_with_jitter(huawei, emu, start_ms):
    emu.add_device("huawei", "psm", wake_period_s=600, jitter_s=60)
    command_id = huawei.command_id("psm")

    emu.advance(539)
    before = emu.command("huawei", command_id)["sent"]
    emu.advance(122)

    assert before is False
    sent_at = emu.command("huawei", command_id)["first_sent_ms"]
    assert 540_000 <= sent_at - start_ms <= 660_000
    device = emu.device("huawei", "psm")
    assert device["wakes"] == 1

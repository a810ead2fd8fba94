"""IoTDA's rule-engine push of command statuses in the emulator: the message, discard on a
non-200 or a slow answer, the blocklist after consecutive failures, the backlog and its drain;
and the emulator's faults, limits, control API and ground truth for IoTDA."""

from __future__ import annotations

from urllib.parse import urlsplit

from platforms.formats import iotda_to_ms
from tests.emulator.iotda_sdk import AK, DEVICE, refused

PUSH = "/iotda/push"


def run_one(iotda, name: str = "SET_STATE") -> str:
    """A command through SENT, DELIVERED and SUCCESSFUL: three pushes."""
    cmd = iotda.create(name=name)
    iotda.emu.wake("iotda", DEVICE)
    iotda.emu.advance(5)
    iotda.emu.flush()
    return cmd.command_id


def host(iotda) -> dict:
    return iotda.emu.iotda_push()["hosts"][urlsplit(iotda.receiver.url).netloc]


def test_every_status_change_is_pushed_as_device_command_status(iotda, start_ms):
    iotda.add_device()
    iotda.emu.set_iotda_push(iotda.receiver.url + PUSH)
    command_id = run_one(iotda)
    pushes = [p.json() for p in iotda.receiver.wait_for(3, PUSH)]
    assert [p["notify_data"]["body"]["status"] for p in pushes] == [
        "SENT", "DELIVERED", "SUCCESSFUL"]
    last = pushes[-1]
    assert (last["resource"], last["event"]) == ("device.command.status", "update")
    assert iotda_to_ms(last["event_time"]) >= start_ms and last["event_time_ms"].endswith("Z")
    assert last["request_id"]
    header, body = last["notify_data"]["header"], last["notify_data"]["body"]
    assert header == {"app_id": "demo-iotda-app", "device_id": DEVICE,
                      "node_id": "869975031234561", "product_id": "demo-product",
                      "gateway_id": DEVICE, "tags": []}
    assert body["command_id"] == command_id and body["result"] == {"result_code": 0}
    assert {"created_time", "sent_time", "delivered_time", "response_time"} <= body.keys()


def test_expiry_is_pushed_too(iotda):
    iotda.add_device()
    iotda.emu.set_iotda_push(iotda.receiver.url + PUSH)
    iotda.create(expire_time=60)
    iotda.emu.advance(60)
    iotda.emu.flush()
    assert [p.json()["notify_data"]["body"]["status"] for p in iotda.receiver.wait_for(1, PUSH)] \
        == ["EXPIRED"]


def test_a_non_200_answer_discards_the_push_even_a_2xx_one(iotda):
    iotda.add_device()
    iotda.emu.set_iotda_push(iotda.receiver.url + PUSH)
    iotda.receiver.statuses.extend([201, 500])
    run_one(iotda)
    iotda.receiver.wait_for(3, PUSH)
    attempts = [d for d in iotda.emu.deliveries("iotda") if d["event"] == "attempt"]
    assert [(d["http_status"], d["ok"]) for d in attempts] == [(201, False), (500, False),
                                                              (200, True)]
    assert [d["status"] for d in iotda.emu.deliveries("iotda") if d["event"] == "discarded"] \
        == ["SENT", "DELIVERED"]
    iotda.emu.advance(3600)  # a discarded push is never tried again
    iotda.emu.flush()
    assert len(iotda.receiver.posts(PUSH)) == 3
    assert host(iotda)["discarded"] == 2 and host(iotda)["consecutive_failures"] == 0


def test_an_answer_slower_than_the_timeout_discards_the_push(iotda):
    iotda.add_device()
    iotda.emu.set_iotda_push(iotda.receiver.url + PUSH, timeout_s=0.2)
    iotda.receiver.delay_s = 1.0
    iotda.create()
    iotda.emu.wake("iotda", DEVICE)  # SENT: one push, answered too late
    iotda.emu.flush()
    discarded = [d for d in iotda.emu.deliveries("iotda") if d["event"] == "attempt"]
    assert [(d["ok"], d["error"]) for d in discarded] == [(False, "ReadTimeout")]
    assert host(iotda)["discarded"] == 1


def test_consecutive_failures_blocklist_the_host_until_it_answers_200_again(iotda):
    iotda.add_device(awake_s=3600)
    iotda.emu.set_iotda_push(iotda.receiver.url + PUSH, blocklist_after=3, retry_s=60)
    iotda.receiver.always = 503
    run_one(iotda, "A")  # three failures: blocklisted
    assert host(iotda)["blocked"] and host(iotda)["discarded"] == 3
    b = run_one(iotda, "B")  # three more statuses pile up instead of going out
    assert len(iotda.receiver.posts(PUSH)) == 3 and host(iotda)["backlog"] == 3

    iotda.emu.advance(60)  # the 3-minute retry (shortened): the oldest piled-up one, refused
    iotda.emu.flush()
    probe = iotda.receiver.wait_for(4, PUSH)[-1].json()["notify_data"]["body"]
    assert (probe["command_id"], probe["status"]) == (b, "SENT")
    assert host(iotda)["blocked"] and host(iotda)["backlog"] == 3  # kept, not discarded

    iotda.receiver.always = None  # the receiver is back: the next try drains the backlog
    iotda.emu.advance(60)
    iotda.emu.flush()
    drained = [p.json()["notify_data"]["body"] for p in iotda.receiver.wait_for(7, PUSH)[4:]]
    assert [(p["command_id"], p["status"]) for p in drained] == [
        (b, "SENT"), (b, "DELIVERED"), (b, "SUCCESSFUL")]
    assert host(iotda) | {"delivered": 0} == {
        "blocked": False, "blocked_since_ms": None, "consecutive_failures": 0, "backlog": 0,
        "delivered": 0, "discarded": 3, "expired": 0}
    run_one(iotda, "C")  # and pushes go out directly again
    assert len(iotda.receiver.wait_for(10, PUSH)) == 10


def test_piled_up_pushes_older_than_the_backlog_ttl_are_dropped(iotda):
    iotda.add_device(awake_s=3600)
    iotda.emu.set_iotda_push(iotda.receiver.url + PUSH, blocklist_after=1, retry_s=60,
                             backlog_ttl_s=30)
    iotda.receiver.always = 500
    iotda.create()
    iotda.emu.wake("iotda", DEVICE)
    iotda.emu.flush()  # SENT failed: blocklisted (before the next statuses are queued)
    iotda.emu.advance(5)
    assert host(iotda)["backlog"] == 2  # DELIVERED and SUCCESSFUL piled up
    iotda.receiver.always = None
    iotda.emu.advance(60)
    iotda.emu.flush()
    assert host(iotda)["expired"] == 2 and host(iotda)["backlog"] == 0
    assert len(iotda.receiver.posts(PUSH)) == 1  # nothing left to drain: still blocked
    assert host(iotda)["blocked"]


def test_delivery_faults_apply_to_iotda_pushes(iotda):
    iotda.add_device()
    iotda.emu.set_iotda_push(iotda.receiver.url + PUSH)
    iotda.emu.set_faults(duplicate_p=1)
    run_one(iotda)
    assert len(iotda.receiver.wait_for(6, PUSH)) == 6
    iotda.emu.set_faults(duplicate_p=0, drop_p=1)
    run_one(iotda)
    assert len(iotda.receiver.posts(PUSH)) == 6
    assert sum(d["event"] == "dropped" for d in iotda.emu.deliveries("iotda")) == 3


def test_api_faults_and_the_per_second_limit_apply_to_iotda(iotda):
    iotda.add_device()
    iotda.emu.set_faults(congestion_p=1)
    e = refused(lambda: iotda.create())
    assert (e.status_code, e.error_code) == (503, "APIG.0201")
    iotda.emu.set_faults(congestion_p=0, error_5xx_p=1)
    assert refused(lambda: iotda.create()).status_code == 500
    iotda.emu.set_faults(error_5xx_p=0, iotda_rate_limit=3, iotda_rate_window_s=3600)
    iotda.create()  # the third call in the window: the two failed ones count too
    e = refused(lambda: iotda.create())
    assert (e.status_code, e.error_code) == (429, "APIG.0308")
    assert "limit:3,time:3600 second" in e.error_msg
    assert len(iotda.emu.truth("iotda")) == 1


def test_control_api_truth_and_call_log_know_iotda(iotda):
    added = iotda.emu.add_device("iotda", wake_period_s=0)
    assert added["platform"] == "iotda" and added["device_id"]
    cmd = iotda.create(device_id=added["device_id"])
    truth = iotda.emu.truth("iotda")
    assert [(t["platform"], t["command_id"], t["status"]) for t in truth] == [
        ("iotda", cmd.command_id, "PENDING")]
    assert truth[0]["command"] == {"service_id": "Valve", "command_name": "SET_STATE",
                                   "paras": {"state": 1}}
    assert iotda.emu.calls("iotda")[0] | {"seq": 0, "at_ms": 0, "real_ms": 0} == {
        "seq": 0, "at_ms": 0, "real_ms": 0, "platform": "iotda", "app": AK, "method": "POST",
        "path": f"/v5/iot/demo-project/devices/{added['device_id']}/async-commands",
        "query": "", "status": 200, "error_code": None}
    assert iotda.emu.status()["commands"]["iotda"] == 1

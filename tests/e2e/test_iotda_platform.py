"""IoTDA v5 end to end: cmdkeeper's web, worker and clock as real processes against the emulator
(AK/SK signatures checked) over real HTTP, the rule engine pushing to `/webhooks/iotda/<token>`;
the official SDK reads the platform's side.

IoTDA cannot cancel, so cmdkeeper holds commands back (docs/architecture.md, "The hold-back
queue"): given a sleepy device and commands created through the API, one goes to the platform
at a time, a stale held one is revoked without a platform call, a superseded held one at once,
one handed over expires at the platform at its deadline; and when pushes are lost and the
receiver is blocklisted, cmdkeeper still ends up agreeing with the platform.
"""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlsplit

from huaweicloudsdkiotda.v5 import ShowAsyncDeviceCommandRequest

from dev.procs import wait_until
from platforms.iotda_vocab import state_of
from tests.e2e.conftest import IOTDA_PUSH_PATH
from tests.emulator.iotda_sdk import sdk

DEVICE = "demo-product_869975031230101"


def create(stack, device: str = DEVICE, **extra) -> str:
    r = stack.api("POST", "/commands", json={
        "platform": "iotda", "device_id": device, "service_id": "Valve",
        "method": "SET_STATE", "paras": {"state": 1}, **extra})
    assert r.status_code == 201, r.text
    return r.json()["command_id"]


def platform_creates(emu) -> list[dict]:
    return [c for c in emu.client.calls("iotda")
            if c["method"] == "POST" and c["path"].endswith("/async-commands")]


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def finish_running(emu, *devices: str) -> None:
    """Wake the devices and let what the platform sends them run to its end (a TIMEOUT too)."""
    for d in devices:
        emu.client.wake("iotda", d)
    emu.client.advance(130)
    emu.client.flush()


def test_one_command_at_a_time_and_a_stale_held_one_revoked_without_a_platform_call(stack,
                                                                                    emu):
    emu.client.add_device("iotda", DEVICE, wake_period_s=0)
    s = stack(STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    emu.client.set_iotda_push(s.url + IOTDA_PUSH_PATH)
    first = create(s)
    doomed = create(s, stale_after_s=2)
    later = create(s)
    assert [s.record("iotda", c)["platform_status"] for c in (first, doomed, later)] == [
        "PENDING", "HELD", "HELD"]
    assert s.record("iotda", later)["platform_command_id"] is None
    assert len(platform_creates(emu)) == 1

    wait_until(lambda: s.record("iotda", doomed)["state"] == "CANCELED", 20,
               "the stale held command revoked", interval_s=0.2)
    last = s.record("iotda", doomed)["timeline"][-1]
    assert (last["source"], last["platform_status"]) == ("revoke", "HELD")
    assert len(platform_creates(emu)) == 1  # revoked in cmdkeeper: the platform never had it

    # the device wakes: the first one runs to its end, and only then does the next one go
    finish_running(emu, DEVICE)
    wait_until(lambda: s.record("iotda", later)["platform_command_id"] is not None, 20,
               "the next held command handed over", interval_s=0.2)
    assert s.record("iotda", first)["state"] in ("SUCCEEDED", "FAILED", "TIMEOUT")
    released = s.record("iotda", later)
    shown = sdk(emu.url).show_async_device_command(ShowAsyncDeviceCommandRequest(
        device_id=DEVICE, command_id=released["platform_command_id"]))
    # its lifetime on the platform is the time it had left before it would be stale
    left_s = (ms(released["stale_at"]) - ms(released["expire_at"])) / 1000
    assert 3500 < shown.expire_time <= 3600 and 0 <= left_s < 2
    assert len(platform_creates(emu)) == 2

    finish_running(emu, DEVICE)
    wait_until(lambda: s.record("iotda", later)["state"] in ("SUCCEEDED", "FAILED", "TIMEOUT"),
               20, "the second command's pushes applied", interval_s=0.2)
    assert sorted(t["command_id"] for t in emu.client.truth("iotda")) == sorted(
        s.record("iotda", c)["platform_command_id"] for c in (first, later))


def test_supersede_in_cmdkeeper_and_the_platforms_expiry_at_the_stale_deadline(stack, emu):
    s = stack(SUPERSEDE="1", STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    # the platform's clock runs with cmdkeeper's, from now (the processes took a while to start)
    emu.client.reset(seed=1, speed=1, start_ms=int(time.time() * 1000))
    emu.client.add_device("iotda", DEVICE, wake_period_s=0)  # asleep throughout
    emu.client.set_iotda_push(s.url + IOTDA_PUSH_PATH)
    sent = create(s, stale_after_s=4)
    older = create(s)
    newer = create(s)
    assert s.record("iotda", newer)["replaces"] == older
    # the one on the platform cannot be revoked, so nothing supersedes it
    assert s.record("iotda", sent)["replaced_by"] is None
    wait_until(lambda: s.record("iotda", older)["state"] == "CANCELED", 15,
               "the superseded held command revoked at once", interval_s=0.2)
    assert s.record("iotda", older)["timeline"][-1]["source"] == "revoke"

    wait_until(lambda: s.record("iotda", sent)["state"] == "EXPIRED", 20,
               "the platform's EXPIRED pushed", interval_s=0.2)
    record = s.record("iotda", sent)
    assert (record["timeline"][-1]["source"], record["platform_status"]) == (
        "callback", "EXPIRED")
    truth = emu.client.command("iotda", record["platform_command_id"])
    expired_at = next(h["at_ms"] for h in truth["history"] if h["status"] == "EXPIRED")
    assert ms(record["stale_at"]) - 1500 <= expired_at <= ms(record["stale_at"]) + 100
    assert not truth["sent"]
    # with the one ahead final, the newer command goes
    wait_until(lambda: s.record("iotda", newer)["platform_command_id"] is not None, 15,
               "the newer command handed over", interval_s=0.2)
    assert len(platform_creates(emu)) == 2


def test_lost_pushes_and_a_blocklisted_receiver_still_converge_to_the_platforms_truth(stack,
                                                                                     emu):
    devices = [f"demo-product_86997503123020{i}" for i in range(4)]
    for d in devices:
        emu.client.add_device("iotda", d, wake_period_s=0, failure_p=0.2, no_answer_p=0.1)
    s = stack(STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    emu.client.set_iotda_push(s.url + IOTDA_PUSH_PATH, blocklist_after=3, retry_s=30)
    commands = [create(s, d) for d in devices for _ in range(2)]  # one sent, one held each
    host = urlsplit(s.url).netloc

    def standing() -> dict:
        return emu.client.iotda_push()["hosts"][host]

    s.procs[0].stop()  # the receiver goes away: pushes fail and are discarded, then pile up
    finish_running(emu, *devices)
    assert standing()["blocked"] and standing()["backlog"] > 0
    s.restart_web()
    emu.client.advance(30)  # the rule engine tries the host again: it answers, the backlog drains
    emu.client.flush()
    assert not standing()["blocked"] and standing()["backlog"] == 0
    emu.client.set_faults(drop_p=0.3)  # and from now on some pushes are lost on the way

    def reconcile_all() -> None:
        for d in devices:
            assert s.api("POST", f"/devices/iotda/{d}/reconcile").status_code == 202

    # what the discarded and lost pushes did not say, history does; the held ones then go
    reconcile_all()
    wait_until(lambda: all(s.record("iotda", c)["platform_command_id"] for c in commands), 30,
               "every held command handed over", interval_s=0.3)
    finish_running(emu, *devices)
    reconcile_all()
    platform = sdk(emu.url)

    def truth(record: dict) -> str:
        shown = platform.show_async_device_command(ShowAsyncDeviceCommandRequest(
            device_id=record["device_id"], command_id=record["platform_command_id"]))
        return state_of(shown.status).value

    def converged() -> bool:
        records = [s.record("iotda", c) for c in commands]
        return all(r["state"] == truth(r) for r in records)

    wait_until(converged, 30, "cmdkeeper agrees with the platform", interval_s=0.5)
    assert all(s.record("iotda", c)["state"] not in ("PENDING", "SENT") for c in commands)
    lost = [d for d in emu.client.deliveries("iotda") if d["event"] in ("dropped", "discarded")]
    assert lost, "the run must actually lose pushes"
    sources = {e["source"] for c in commands for e in s.record("iotda", c)["timeline"]}
    assert {"callback", "reconcile"} <= sources

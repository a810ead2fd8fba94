"""OneNET end to end: the emulator pushes (signed, AES-encrypted) to cmdkeeper's web over real
HTTP; worker and clock revoke and reconcile through the OneNET API. And both platforms at once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dev.procs import wait_until
from platforms.onenet_vocab import onenet_state
from store.model import State
from tests.e2e.conftest import ONENET_PUSH_TOKEN

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CANCEL_ALL = "/nbiot/offline/cancel/all"
CANCEL_ONE = "/nbiot/offline/cancel/"


def create(stack, imei: str, **extra) -> str:
    r = stack.api("POST", "/commands", json={
        "platform": "onenet", "device_id": imei, "method": "WRITE",
        "paras": {"obj_id": 3311, "obj_inst_id": 0, "mode": 1,
                  "data": [{"res_id": 5850, "val": True}]}, **extra})
    assert r.status_code == 201, r.text
    return r.json()["command_id"]


def truth_state(emu, command_id: str) -> str:
    t = emu.client.command("onenet", command_id)
    return onenet_state(t["status"], t["confirm_status"]).value


def test_encrypted_pushes_after_the_url_handshake(stack, emu):
    s = stack(ONENET_AES_KEY=AES_KEY, STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    # the emulator verifies the URL first (GET handshake against cmdkeeper), as the console does
    emu.client.set_onenet_push(s.url + "/webhooks/onenet", ONENET_PUSH_TOKEN, aes_key=AES_KEY)
    emu.client.add_device("onenet", "869975031230001", wake_period_s=0)
    command = create(s, "869975031230001")
    emu.client.wake("onenet", "869975031230001")
    emu.client.advance(30)
    emu.client.flush()
    assert truth_state(emu, command) == "SUCCEEDED"
    wait_until(lambda: s.record("onenet", command)["state"] == "SUCCEEDED", 20,
               "the encrypted result push applied")
    assert s.record("onenet", command)["timeline"][-1]["source"] == "callback"
    pushes = [d for d in emu.client.deliveries("onenet") if d["event"] == "attempt"]
    assert pushes and all(d["ok"] for d in pushes)


def test_stale_cached_commands_are_cancelled_before_the_next_uplink(stack, emu):
    for imei in ("869975031230011", "869975031230012"):
        emu.client.add_device("onenet", imei, wake_period_s=0)
    s = stack(STALE_AFTER_S="2", RECONCILE_AFTER_S="3600", clock=False)
    all_stale = [create(s, "869975031230011") for _ in range(2)]
    mix_stale = create(s, "869975031230012", stale_after_s=1)
    mix_fresh = create(s, "869975031230012", stale_after_s=3600)
    # The clock starts once all are stale: on a loaded machine the creations spread out, and a
    # revocation at the first deadline would rightly leave the later commands alone.
    last_stale_at = max(datetime.fromisoformat(s.record("onenet", c)["stale_at"])
                        for c in all_stale + [mix_stale])
    wait_until(lambda: datetime.now(UTC) > last_stale_at, 10, "the commands stale")
    s.start_clock()

    def revoked() -> bool:
        return all(s.record("onenet", c)["state"] == "CANCELED" for c in all_stale + [mix_stale])

    wait_until(revoked, 30, "stale cached commands cancelled", interval_s=0.2)
    assert all(emu.client.command("onenet", c)["status"] == 2 for c in all_stale + [mix_stale])
    assert emu.client.command("onenet", mix_fresh)["status"] == 1
    calls = emu.client.calls("onenet")
    assert len([c for c in calls if c["path"] == CANCEL_ALL]) == 1
    assert [c["path"] for c in calls if c["path"].startswith(CANCEL_ONE)
            and c["path"] != CANCEL_ALL] == [CANCEL_ONE + mix_stale]

    for imei in ("869975031230011", "869975031230012"):
        emu.client.wake("onenet", imei)
    emu.client.advance(60)
    assert not any(emu.client.command("onenet", c)["sent"] for c in all_stale + [mix_stale])
    assert emu.client.command("onenet", mix_fresh)["sent"]


def test_states_converge_despite_dropped_and_duplicated_pushes(stack, emu):
    s = stack(STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    emu.client.set_onenet_push(s.url + "/webhooks/onenet", ONENET_PUSH_TOKEN)
    emu.client.set_faults(drop_p=0.3, duplicate_p=0.1)
    devices = [f"86997503124{i:04d}" for i in range(6)]
    for imei in devices:
        emu.client.add_device("onenet", imei, wake_period_s=0, failure_p=0.2, no_answer_p=0.2)
    commands = [create(s, imei) for imei in devices for _ in range(3)]
    for _ in range(16):  # enough wakes for every command and its retries to end
        for imei in devices:
            emu.client.wake("onenet", imei)
        emu.client.advance(60)
    emu.client.flush()
    truth = {c: truth_state(emu, c) for c in commands}
    assert all(State(t).terminal for t in truth.values())
    deliveries = emu.client.deliveries("onenet")
    assert any(d["event"] == "dropped" for d in deliveries)
    assert any(d["event"] == "duplicated" for d in deliveries)

    for imei in devices:
        assert s.api("POST", f"/devices/onenet/{imei}/reconcile").status_code == 202

    def converged() -> bool:
        return all(s.record("onenet", c)["state"] == t for c, t in truth.items())

    wait_until(converged, 30, "cmdkeeper matches OneNET's history", interval_s=0.2)


def test_one_cmdkeeper_serves_a_huawei_and_a_onenet_fleet(stack, emu):
    s = stack(STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    emu.client.set_onenet_push(s.url + "/webhooks/onenet", ONENET_PUSH_TOKEN)
    huawei = [f"hw-{i}" for i in range(4)]
    onenet = [f"86997503125{i:04d}" for i in range(4)]
    for d in huawei:
        emu.client.add_device("huawei", d, wake_period_s=0)
    for d in onenet:
        emu.client.add_device("onenet", d, wake_period_s=0)
    hw_cmds = []
    for d in huawei:
        r = s.api("POST", "/commands", json={"platform": "huawei", "device_id": d,
                                              "service_id": "Valve", "method": "SET",
                                              "paras": {"open": 1}})
        assert r.status_code == 201
        hw_cmds.append(r.json()["command_id"])
    on_cmds = [create(s, d) for d in onenet]
    for _ in range(3):
        for d in huawei:
            emu.client.wake("huawei", d)
        for d in onenet:
            emu.client.wake("onenet", d)
        emu.client.advance(30)
    emu.client.flush()

    def all_done() -> bool:
        return all(s.record("huawei", c)["state"] == "SUCCEEDED" for c in hw_cmds) and all(
            s.record("onenet", c)["state"] == "SUCCEEDED" for c in on_cmds)

    wait_until(all_done, 30, "both fleets' commands succeeded", interval_s=0.2)
    listing = s.api("GET", f"/devices/onenet/{onenet[0]}/commands").json()["items"]
    assert [i["command_id"] for i in listing] == [on_cmds[0]]
    assert listing[0]["platform_status"] == "5/0"


def test_unknown_devices_are_404_on_both_platforms_and_nothing_is_recorded(stack, emu,
                                                                           redis_client):
    s = stack(clock=False)
    huawei = s.api("POST", "/commands", json={"platform": "huawei", "device_id": "nobody",
                                               "service_id": "Valve", "method": "SET",
                                               "paras": {}})
    onenet = s.api("POST", "/commands", json={
        "platform": "onenet", "device_id": "869975031299999", "method": "READ",
        "paras": {"obj_id": 3303}})
    for r, code in ((huawei, "100418"), (onenet, "8")):
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "unknown_device"
        assert r.json()["error"]["platform_code"] == code
    assert not list(redis_client.scan_iter(match="ck:*:cmd:*"))

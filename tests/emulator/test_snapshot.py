"""emulator/snapshot.py: a restarted emulator still holds its commands and devices, goes on from
where its clock stood (plus the time it was down), and forgets a snapshot it cannot read."""

from __future__ import annotations

import json
import pickle

from emulator import snapshot
from emulator.app import create_emulator_app
from emulator.settings import Settings
from tests.emulator.helpers import APP_ID, CMD, LOGIN, SECRET

DEVICES = ({"platform": "huawei", "device_id": "valve-1", "wake_period_s": 0},)


def app_with(tmp_path, **changes):
    settings = Settings(seed=1, speed=0, start_ms=1_704_067_200_000,
                        state_file=str(tmp_path / "state.pickle"),
                        **{"devices": DEVICES, **changes})
    return create_emulator_app(settings, start_threads=False)


def create_command(client) -> str:
    token = client.post(LOGIN, data={"appId": APP_ID, "secret": SECRET}).get_json()["accessToken"]
    r = client.post(CMD + "/deviceCommands", headers={"app_key": APP_ID,
                                                       "Authorization": f"Bearer {token}"},
                    json={"deviceId": "valve-1", "expireTime": 3600,
                          "command": {"serviceId": "Valve", "method": "SET", "paras": {"o": 1}}})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["commandId"]


def truth(app) -> dict[str, str]:
    return {c["command_id"]: c["status"] for c in app.extensions["emulator"].truth()}


def test_a_restarted_emulator_keeps_its_commands_and_their_fate(tmp_path):
    first = app_with(tmp_path)
    command_id = create_command(first.test_client())
    first.extensions["emulator"].advance(60)
    snapshot.save(first.extensions["emulator"], tmp_path / "state.pickle")

    second = app_with(tmp_path)
    emulator = second.extensions["emulator"]
    assert truth(second) == {command_id: "PENDING"}
    assert emulator.engine.now_ms >= 1_704_067_200_000 + 60_000  # the clock went on
    # the command still reaches its device when it wakes, and still expires on schedule
    client = second.test_client()
    assert client.post("/_emulator/devices/huawei/valve-1/wake").status_code == 200
    emulator.advance(10)
    assert truth(second) == {command_id: "SUCCESSFUL"}


def test_devices_are_as_this_start_defines_them(tmp_path):
    first = app_with(tmp_path)
    snapshot.save(first.extensions["emulator"], tmp_path / "state.pickle")
    changed = ({"platform": "huawei", "device_id": "valve-1", "wake_period_s": 0,
                "ack_delay_s": 3},
               {"platform": "onenet", "device_id": "869975031234561", "wake_period_s": 0})
    second = app_with(tmp_path, devices=changed,
                      onenet_push_url="http://127.0.0.1:5001/webhooks/onenet")
    emulator = second.extensions["emulator"]
    assert emulator.fleet.get("huawei", "valve-1").behaviour.ack_delay_s == 3
    assert emulator.fleet.get("onenet", "869975031234561") is not None
    assert emulator.onenet.push.url == "http://127.0.0.1:5001/webhooks/onenet"


def test_an_unreadable_snapshot_is_set_aside(tmp_path):
    (tmp_path / "state.pickle").write_bytes(pickle.dumps({"format": -1}))
    app = app_with(tmp_path)
    assert truth(app) == {}
    assert not (tmp_path / "state.pickle").exists()
    assert (tmp_path / "state.pickle.unreadable").exists()
    # and the emulator works as a fresh one
    assert json.loads(app.test_client().get("/_emulator/status").get_data())["devices"] == 1

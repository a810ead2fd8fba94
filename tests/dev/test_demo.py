"""The demo's settings (dev/demo.py) and the run lock (dev/runlock.py), as plain functions: every
URL follows the ports, the web stays on loopback, the devices keep the tour's promises whatever
the moment a command is sent, and a second runner is refused."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from dev import demo
from dev.runlock import AlreadyRunning, RunLock, port_in_use
from emulator.devices import Behaviour

#: What a command needs besides the device's wake: the clock's sweep, a callback, some slack.
MARGIN_S = demo.SWEEP_INTERVAL_S + 5


def test_every_url_is_derived_from_the_ports(tmp_path: Path):
    env = {"PORT": "5001", "EMULATOR_PORT": "8801"}
    filled = demo.fill(env, tmp_path)
    assert env["PUBLIC_URL"] == "http://127.0.0.1:5001"
    assert env["EMULATOR_ONENET_PUSH_URL"] == "http://127.0.0.1:5001/webhooks/onenet"
    assert env["HUAWEI_BASE_URL"] == env["ONENET_BASE_URL"] == "http://127.0.0.1:8801"
    assert env["WEB_HOST"] == "127.0.0.1"
    assert env["EMULATOR_STATE_FILE"] == str(tmp_path / "emulator" / "state.pickle")
    assert "PORT" not in filled and "PUBLIC_URL" in filled


def test_what_the_environment_says_wins(tmp_path: Path):
    env = {"WEB_HOST": "0.0.0.0", "PUBLIC_URL": "https://tunnel.example",
           "CMDKEEPER_API_TOKEN": "mine"}
    filled = demo.fill(env, tmp_path)
    assert env["WEB_HOST"] == "0.0.0.0" and env["PUBLIC_URL"] == "https://tunnel.example"
    assert env["CMDKEEPER_API_TOKEN"] == "mine"
    assert not {"WEB_HOST", "PUBLIC_URL", "CMDKEEPER_API_TOKEN"} & set(filled)
    demo.write(tmp_path, env, filled, "unix:///x")
    text = demo.file_path(tmp_path).read_text()
    assert "mine" not in text and "CMDKEEPER_API_TOKEN" not in text  # never the developer's


def test_the_devices_keep_the_tours_promises_whatever_the_moment():
    devices = {d["device_id"]: d for d in demo.DEVICES}
    # the valve never wakes by itself: a command to it always goes stale and is revoked
    assert devices["demo-valve-1"]["wake_period_s"] == 0
    # the meter and the OneNET device wake, at the latest, well before a command goes stale
    for name in ("demo-meter-2", "869975031234561"):
        b = Behaviour().updated({k: v for k, v in devices[name].items()
                                 if k not in ("platform", "device_id")})
        worst = b.wake_period_s + b.jitter_s + b.ack_delay_s + b.result_delay_s
        assert 0 < b.wake_period_s and worst + MARGIN_S < demo.STALE_AFTER_S, name
        assert b.failure_p == 0 and b.no_answer_p == 0
    assert json.loads(demo.defaults({}, Path("var"))["EMULATOR_DEVICES"]) == list(demo.DEVICES)


def test_the_demo_file_is_private_and_gone_once_removed(tmp_path: Path):
    env: dict[str, str] = {}
    filled = demo.fill(env, tmp_path)
    path = demo.write(tmp_path, env, filled, "unix:///r.sock")
    assert path.stat().st_mode & 0o777 == 0o600
    url, values = demo.read(tmp_path)
    assert url == "unix:///r.sock" and values["HUAWEI_BASE_URL"] == "http://127.0.0.1:8743"
    assert not any(k.startswith("EMULATOR_") for k in values)
    demo.remove(tmp_path)
    assert demo.read(tmp_path) is None


def test_a_second_runner_is_refused_naming_the_first(tmp_path: Path):
    first, second = RunLock(tmp_path), RunLock(tmp_path)
    first.acquire({"dashboard": "http://127.0.0.1:5000"})
    with pytest.raises(AlreadyRunning) as refused:
        second.acquire({"dashboard": "http://127.0.0.1:5001"})
    assert refused.value.holder["dashboard"] == "http://127.0.0.1:5000"
    assert refused.value.holder["pid"] > 0
    first.release()
    second.acquire({})  # free again once the first is gone
    second.release()


def test_a_port_in_use_is_seen():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert port_in_use("127.0.0.1", s.getsockname()[1])

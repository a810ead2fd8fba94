"""The control API: clock, devices, ground truth, call log, determinism under a seed."""

from __future__ import annotations

import time

import pytest

from emulator.client import EmulatorError
from emulator.testing import TEST_START_MS, busiest_window
from platforms.formats import ms_to_onenet
from tests.emulator.helpers import HOUR_MS, Huawei, OneNet


def test_advance_runs_every_due_event_before_answering(emu, start_ms):
    emu.add_device("huawei", "d1", first_wake_s=100, wake_period_s=0)

    now = emu.advance(99.5)
    asleep = emu.device("huawei", "d1")["wakes"]
    now2 = emu.advance(0.5)

    assert now == start_ms + 99_500 and now2 == start_ms + 100_000
    assert asleep == 0 and emu.device("huawei", "d1")["wakes"] == 1
    assert emu.status()["now_ms"] == now2


def test_a_positive_speed_runs_the_clock_by_itself(emu, start_ms):
    emu.set_speed(1000)
    deadline = time.monotonic() + 5
    while emu.now_ms() < start_ms + 2000 and time.monotonic() < deadline:
        time.sleep(0.01)
    emu.set_speed(0)

    frozen = emu.now_ms()
    assert frozen >= start_ms + 2000
    assert emu.now_ms() == frozen


def test_device_definitions_are_checked(emu):
    emu.add_device("huawei", "dup")
    bad = [{"platform": "mqtt"}, {"platform": "huawei", "device_id": "dup"},
           {"platform": "huawei", "failure_p": 0.7, "no_answer_p": 0.7},
           {"platform": "huawei", "awake_s": "long"}, {"platform": "huawei", "colour": "red"}]
    for body in bad:
        with pytest.raises(EmulatorError) as e:
            emu.add_device(**body)
        assert e.value.status == 400, body
    with pytest.raises(EmulatorError) as missing:
        emu.wake("huawei", "nope")
    assert missing.value.status == 404


def test_generated_device_ids_follow_each_platform(emu):
    huawei = emu.add_device("huawei")
    onenet = emu.add_device("onenet")

    assert len(huawei["device_id"]) == 36 and huawei["dev_id"] is None
    assert len(onenet["device_id"]) == 15 and onenet["device_id"].isdigit()
    assert isinstance(onenet["dev_id"], int)
    assert len(emu.devices()) == 2


def test_the_call_log_records_every_platform_call(huawei, emu, start_ms):
    emu.advance(10)
    huawei.call("GET", "/deviceCommands", params={"pageSize": 0})

    calls = emu.calls()
    assert [c["path"] for c in calls] == ["/iocm/app/sec/v1.1.0/login",
                                          "/iocm/app/cmd/v1.4.0/deviceCommands"]
    last = calls[-1]
    assert last["at_ms"] == start_ms + 10_000 and last["real_ms"] > 1_600_000_000_000
    assert (last["platform"], last["app"], last["method"]) == ("huawei", "demo-app", "GET")
    assert (last["status"], last["error_code"], last["query"]) == (400, "100022", "pageSize=0")
    assert emu.calls(since=calls[0]["seq"]) == [last]
    assert emu.calls(platform="onenet") == []


def scenario(emu, base_url: str, seed: int) -> list[dict]:
    """Random device behaviour on both platforms for three emulated hours."""
    emu.reset(seed=seed, start_ms=TEST_START_MS, speed=0)
    behaviour = {"wake_period_s": 900, "jitter_s": 300, "failure_p": 0.3, "no_answer_p": 0.3}
    hw = [emu.add_device("huawei", **behaviour)["device_id"] for _ in range(2)]
    nb = [emu.add_device("onenet", **behaviour)["device_id"] for _ in range(2)]
    huawei, onenet = Huawei(base_url), OneNet(base_url)
    huawei.login()
    for device in hw:
        for _ in range(3):
            huawei.command_id(device)
    for imei in nb:
        for _ in range(3):
            onenet.uuid(imei, TEST_START_MS, timeout=5, expired_time=ms_to_onenet(
                TEST_START_MS + 3 * HOUR_MS))
    for _ in range(6):
        emu.advance(1800)
    return emu.truth()


def test_the_same_seed_gives_the_same_truth_and_another_seed_another(emu, base_url):
    first = scenario(emu, base_url, seed=7)
    second = scenario(emu, base_url, seed=7)
    other = scenario(emu, base_url, seed=8)

    assert len(first) == 12
    assert first == second
    assert other != first
    outcomes = {c["status"] for c in first}
    assert len(outcomes) >= 2


def test_truth_filters_by_platform_and_device(huawei, onenet, emu, start_ms):
    emu.add_device("huawei", "h1", wake_period_s=0)
    emu.add_device("onenet", "869975031234564", wake_period_s=0)
    command_id = huawei.command_id("h1")
    onenet.uuid("869975031234564", start_ms)

    only_huawei = emu.truth(platform="huawei")
    only_device = emu.truth(device_id="869975031234564")

    assert [c["command_id"] for c in only_huawei] == [command_id]
    assert [c["platform"] for c in only_device] == ["onenet"]
    assert only_huawei[0]["history"][0] == {"status": "PENDING", "at_ms": start_ms,
                                            "at": "2024-01-01T00:00:00.000Z"}
    with pytest.raises(EmulatorError) as e:
        emu.command("huawei", "nope")
    assert e.value.status == 404


def test_reset_forgets_everything(huawei, emu):
    emu.add_device("huawei", "h1", wake_period_s=0)
    huawei.command_id("h1")

    status = emu.reset(seed=3)

    assert status["seed"] == 3 and status["devices"] == 0
    assert emu.truth() == [] and emu.calls() == [] and emu.deliveries() == []


def test_busiest_window_counts_calls_in_half_open_rolling_windows():
    calls = [{"real_ms": t} for t in (0, 10_000, 59_999, 60_000, 61_000, 200_000)]

    assert busiest_window(calls) == 4
    assert busiest_window(calls, window_s=1) == 2
    assert busiest_window([]) == 0


def test_with_a_positive_speed_devices_live_without_any_api_call(emu, receiver):
    emu.add_device("onenet", "869975031234565", first_wake_s=5, wake_period_s=0)
    emu.set_onenet_push(receiver.url + "/push", "tok")

    emu.set_speed(100)
    pushes = receiver.wait_for(1, "/push", timeout_s=5)
    emu.set_speed(0)

    assert pushes[0].json()["msg"]["type"] == 2

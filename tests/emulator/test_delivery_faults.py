"""Injected delivery faults (drop, duplicate, delay, reorder) and retry on failure."""

from __future__ import annotations

import pytest

DEV = "fault-device"


@pytest.fixture
def device(emu):
    emu.add_device("huawei", DEV, wake_period_s=0)
    return DEV


def run_one_command(huawei, emu, receiver, seconds: float = 5) -> str:
    command_id = huawei.command_id(DEV, receiver.url + "/cb")
    emu.wake("huawei", DEV)
    emu.advance(seconds)
    emu.flush()
    return command_id


def codes(receiver) -> list[str]:
    return [c.json()["result"]["resultCode"] for c in receiver.posts("/cb")]


def events(emu, event: str) -> list[dict]:
    return [d for d in emu.deliveries() if d["event"] == event]


def test_dropped_callbacks_never_arrive(huawei, emu, device, receiver):
    emu.set_faults(drop_p=1.0)

    command_id = run_one_command(huawei, emu, receiver)

    assert receiver.posts("/cb") == []
    assert len(events(emu, "dropped")) == 3
    assert emu.command("huawei", command_id)["status"] == "SUCCESSFUL"


def test_duplicated_callbacks_arrive_twice(huawei, emu, device, receiver):
    emu.set_faults(duplicate_p=1.0)

    run_one_command(huawei, emu, receiver)

    receiver.wait_for(6, "/cb")
    assert codes(receiver) == ["SENT", "SENT", "DELIVERED", "DELIVERED", "SUCCESSFUL",
                               "SUCCESSFUL"]


def test_delayed_callbacks_wait_for_the_clock(huawei, emu, device, receiver):
    emu.set_faults(delay_p=1.0, delay_s=30)

    run_one_command(huawei, emu, receiver)
    nothing_yet = list(receiver.posts("/cb"))
    emu.advance(30)
    emu.flush()

    assert nothing_yet == []
    receiver.wait_for(3, "/cb")
    assert codes(receiver) == ["SENT", "DELIVERED", "SUCCESSFUL"]


def test_a_reordered_callback_arrives_after_the_next_one(huawei, emu, device, receiver):
    huawei.command_id(DEV, receiver.url + "/cb")
    emu.set_faults(reorder_p=1.0, reorder_hold_s=10)
    emu.wake("huawei", DEV)
    emu.set_faults(reorder_p=0.0)

    emu.advance(5)
    emu.flush()

    receiver.wait_for(3, "/cb")
    assert codes(receiver) == ["DELIVERED", "SENT", "SUCCESSFUL"]


def test_a_held_callback_is_released_after_the_hold_time(huawei, emu, device, receiver):
    emu.set_faults(reorder_p=1.0, reorder_hold_s=10)

    run_one_command(huawei, emu, receiver)
    held = list(receiver.posts("/cb"))
    emu.advance(10)
    emu.flush()

    assert held == []
    assert codes(receiver) == ["SENT", "DELIVERED", "SUCCESSFUL"]


def test_a_failed_callback_is_retried_after_the_interval(huawei, emu, device, receiver):
    emu.set_faults(retry_interval_s=30)
    receiver.statuses.extend([500])

    run_one_command(huawei, emu, receiver, seconds=0)
    first = codes(receiver)
    emu.advance(30)
    emu.flush()

    assert first == ["SENT"]
    assert codes(receiver) == ["SENT", "DELIVERED", "SUCCESSFUL", "SENT"]
    attempts = [d for d in events(emu, "attempt") if d["status"] == "SENT"]
    assert [(a["attempt"], a["ok"], a["http_status"]) for a in attempts] == [
        (1, False, 500), (2, True, 200)]


def test_retries_stop_when_the_window_has_passed(huawei, emu, device, receiver):
    emu.set_faults(retry_interval_s=30, huawei_retry_window_s=60)
    receiver.always = 503

    run_one_command(huawei, emu, receiver, seconds=0)
    for _ in range(4):
        emu.advance(30)
        emu.flush()

    assert [c for c in codes(receiver) if c == "SENT"] == ["SENT"] * 3
    gave_up = events(emu, "gave_up")
    assert "SENT" in [g["status"] for g in gave_up]


def test_onenet_pushes_meet_the_same_faults(onenet, emu, receiver, start_ms):
    emu.add_device("onenet", "869975031234563", wake_period_s=0, notify_on_wake=False)
    emu.set_onenet_push(receiver.url + "/push", "tok")
    emu.set_faults(duplicate_p=1.0)

    emu.wake("onenet", "869975031234563")
    emu.flush()

    pushes = receiver.wait_for(2, "/push")
    assert len(pushes) == 2 and pushes[0].body == pushes[1].body


def test_faults_are_validated(emu):
    from emulator.client import EmulatorError

    for bad in ({"drop_p": 2}, {"nope": 1}, {"rate_clock": "sundial"}, {"delay_s": -1}):
        with pytest.raises(EmulatorError) as e:
            emu.set_faults(**bad)
        assert e.value.status == 400
    assert emu.faults()["drop_p"] == 0.0

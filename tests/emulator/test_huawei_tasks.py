"""Huawei command cancel tasks: WAITTING -> RUNNING -> SUCCESS / PART_SUCCESS / FAILED."""

from __future__ import annotations

import pytest

DEV = "task-device"


@pytest.fixture
def device(emu):
    """A sleeping device whose answers take 10 s, so a sent command stays sent for a while."""
    emu.add_device("huawei", DEV, wake_period_s=0, result_delay_s=10)
    return DEV


def create_task(huawei, device_id: str):
    return huawei.call("POST", "/deviceCommandCancelTasks", json={"deviceId": device_id})


def task(huawei, task_id: str) -> dict:
    r = huawei.call("GET", "/deviceCommandCancelTasks", params={"taskId": task_id})
    assert r.status_code == 200
    return r.json()["data"][0]


def test_a_task_cancels_every_pending_command_of_the_device(huawei, emu, device):
    ids = [huawei.command_id(device) for _ in range(2)]

    r = create_task(huawei, device)
    created = r.json()
    emu.advance(1)
    running = task(huawei, created["taskId"])["status"]
    emu.advance(2)
    done = task(huawei, created["taskId"])

    assert r.status_code == 200
    assert created["status"] == "WAITTING" and created["totalCount"] == 2
    assert created["deviceId"] == device and created["appId"] == "demo-app"
    assert [c["commandId"] for c in created["deviceCommands"]] == ids
    assert {c["status"] for c in created["deviceCommands"]} == {"PENDING"}
    assert running == "RUNNING"
    assert done["status"] == "SUCCESS"
    assert {c["status"] for c in done["deviceCommands"]} == {"CANCELED"}


def test_a_command_sent_meanwhile_is_not_cancelled_part_success(huawei, emu, device):
    sent, pending = huawei.command_id(device), huawei.command_id(device)

    task_id = create_task(huawei, device).json()["taskId"]
    emu.wake("huawei", device)
    emu.advance(3)

    done = task(huawei, task_id)
    assert done["status"] == "PART_SUCCESS"
    statuses = {c["commandId"]: c["status"] for c in done["deviceCommands"]}
    assert statuses == {sent: "DELIVERED", pending: "CANCELED"}
    assert emu.command("huawei", sent)["sent"] is True


def test_a_task_that_cancels_nothing_fails(huawei, emu, device):
    huawei.command_id(device)

    task_id = create_task(huawei, device).json()["taskId"]
    emu.wake("huawei", device)
    emu.advance(3)

    assert task(huawei, task_id)["status"] == "FAILED"


def test_a_task_for_a_device_without_pending_commands_succeeds_empty(huawei, emu, device):
    created = create_task(huawei, device).json()
    emu.advance(3)

    assert created["totalCount"] == 0
    assert task(huawei, created["taskId"])["status"] == "SUCCESS"


def test_tasks_query_filters_and_pages(huawei, emu, device):
    emu.add_device("huawei", "other", wake_period_s=0)
    mine = [create_task(huawei, device).json()["taskId"] for _ in range(3)]
    create_task(huawei, "other")
    emu.advance(3)

    by_device = huawei.call("GET", "/deviceCommandCancelTasks",
                            params={"deviceId": device, "pageNo": 0, "pageSize": 2}).json()
    by_status = huawei.call("GET", "/deviceCommandCancelTasks",
                            params={"status": "SUCCESS"}).json()
    waiting = huawei.call("GET", "/deviceCommandCancelTasks",
                          params={"status": "WAITTING"}).json()

    assert by_device["pagination"] == {"pageNo": 0, "pageSize": 2, "totalSize": 3}
    assert [t["taskId"] for t in by_device["data"]] == mine[:0:-1]
    assert by_status["pagination"]["totalSize"] == 4
    assert waiting["data"] == []


def test_task_errors_unknown_device_and_bad_input(huawei, emu):
    unknown = create_task(huawei, "nope")
    missing = huawei.call("POST", "/deviceCommandCancelTasks", json={})

    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "100418")
    assert (missing.status_code, missing.json()["error_code"]) == (400, "100022")

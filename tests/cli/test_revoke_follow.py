"""`revoke` following a cancel task, with an in-memory platform and time moved by hand: it looks
on the workers' schedule, last at its deadline, and hands the task over with its looks counted."""

from __future__ import annotations

from cli.revoke import follow, hand_to_worker
from cli.session import Session
from store import keys
from store.commands import NewCommand
from tests.cli.conftest import queued_jobs
from tests.fake_gateway import FakeGateway
from workers import revoke

DEVICE = "dev-1"


class Waits:
    """A monotonic clock that moves only when the CLI sleeps."""

    def __init__(self) -> None:
        self.now_s, self.slept = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now_s += seconds

    def monotonic(self) -> float:
        return self.now_s


def started(store, clock, gateway: FakeGateway) -> revoke.RevokeResult:
    """A bulk cancel of one stale command, running on the platform."""
    now = clock()
    store.create_command(NewCommand("huawei", DEVICE, "c1", "Valve", "SET", {}, now - 7_200_000,
                                    now - 3_600_000), now_ms=now)
    gateway.hold(DEVICE, "c1")
    result = revoke.revoke_device(store, gateway, DEVICE, clock)
    assert result.task is not None
    return result


def session_with(config, store, clock, gateway: FakeGateway, waits: Waits) -> Session:
    return Session(clock=clock, sleep=waits.sleep, _config=config, _store=store,
                   _gateways={"huawei": gateway})


def test_it_looks_on_the_workers_schedule_and_last_at_its_deadline(config, store, clock,
                                                                  redis_client):
    gateway, waits = FakeGateway(clock, task_looks=10), Waits()
    begun = started(store, clock, gateway)

    result = follow(session_with(config, store, clock, gateway, waits), begun, 10.0,
                    waits.monotonic)

    assert waits.slept == [1.0, 2.0, 4.0, 3.0]  # 1 s doubling; the last look at 10 s
    assert result.task == begun.task.looked().looked().looked().looked()
    assert redis_client.get(keys.device_lock("huawei", DEVICE)) == begun.task.lock_owner


def test_a_task_that_ends_while_followed_is_recorded_at_once(config, store, clock,
                                                            redis_client):
    gateway, waits = FakeGateway(clock, task_looks=1), Waits()
    begun = started(store, clock, gateway)

    result = follow(session_with(config, store, clock, gateway, waits), begun, 30.0,
                    waits.monotonic)

    assert waits.slept == [1.0, 2.0] and result.task is None and result.canceled == ["c1"]
    assert store.get("huawei", "c1")["state"] == "CANCELED"
    assert redis_client.get(keys.device_lock("huawei", DEVICE)) is None


def test_without_time_to_wait_it_does_not_look(config, store, clock):
    gateway, waits = FakeGateway(clock, task_looks=10), Waits()
    begun = started(store, clock, gateway)

    result = follow(session_with(config, store, clock, gateway, waits), begun, 0.0,
                    waits.monotonic)

    assert waits.slept == [] and result.task == begun.task
    assert [c.method for c in gateway.calls] == ["cancel_all"]


def test_a_task_handed_to_a_worker_keeps_its_looks(config, store, clock, redis_client):
    gateway, waits = FakeGateway(clock, task_looks=10), Waits()
    session = session_with(config, store, clock, gateway, waits)
    followed = follow(session, started(store, clock, gateway), 3.0, waits.monotonic)

    hand_to_worker(session, followed.task)

    task = followed.task
    assert task.polls == 2
    assert queued_jobs(redis_client) == [(
        "follow_cancel_task", ("huawei", DEVICE, task.task_id, task.lock_owner, 2),
        {"targets": ["c1"]})]

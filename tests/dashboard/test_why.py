"""The "why is it stuck?" line says what cmdkeeper does next, for every kind of open command.

Each case is built the way cmdkeeper itself gets there (the store's scripts, the clock's claim)
on a real Redis, with a manual clock; the line is then read as the device page reads it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from cmdkeeper.clock import ManualClock
from dashboard.why import why_stuck
from store.commands import CommandStore, NewCommand
from store.device_view import DeviceView, read_device
from store.model import Event, Source, State
from workers.clock import claim

# 2023-11-14 22:13:20 UTC: times of the same day show without their date
START_MS = 1_700_000_000_000
SWEEP_S = 5
DEVICE = "valve-1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
def policy(config):
    return replace(config, sweep_interval_s=SWEEP_S)  # reconcile_after_s stays 900


def create(store: CommandStore, clock: ManualClock, command_id: str = "c1", *,
           stale_after_s: float = 60, expire_after_s: float | None = None,
           supersede: bool = False) -> None:
    now = clock()
    expire_at = now + int(expire_after_s * 1000) if expire_after_s is not None else None
    store.create_command(NewCommand("huawei", DEVICE, command_id, "Valve", "SET", {"open": 1},
                                    now, now + int(stale_after_s * 1000), expire_at),
                         supersede=supersede)


def event(store: CommandStore, clock: ManualClock, state: State, command_id: str = "c1", *,
          source: Source = Source.CALLBACK, attempt: int = 0) -> None:
    store.apply_event(Event("huawei", DEVICE, command_id, state, state.value, clock(), source,
                            attempt), clock())


def why(store: CommandStore, policy, clock: ManualClock, command_id: str = "c1") -> str | None:
    view = read_device(store, "huawei", DEVICE)
    record = next(c for c in view.commands if c["command_id"] == command_id)
    return why_stuck(record, view, policy, clock())


def test_a_final_command_is_not_stuck(store, policy, clock):
    for i, state in enumerate((State.SUCCEEDED, State.FAILED, State.TIMEOUT, State.EXPIRED,
                               State.CANCELED)):
        create(store, clock, f"c{i}")
        event(store, clock, state, f"c{i}")
        assert why(store, policy, clock, f"c{i}") is None


def test_pending_before_its_deadline_waits_for_the_device_then_is_revoked(store, policy, clock):
    create(store, clock, stale_after_s=40)
    assert why(store, policy, clock) == ("Waiting for the device to wake; becomes stale at "
                                         "22:14:00 UTC (in 40 s) and will be revoked then.")


def test_the_clock_claiming_ahead_of_the_deadline_changes_nothing_said(store, policy, clock):
    create(store, clock, stale_after_s=3)
    assert claim(store.client, store.scripts, clock(), lookahead_ms=SWEEP_S * 1000).revoke
    assert why(store, policy, clock).startswith("Waiting for the device to wake; becomes stale")


def test_a_deadline_on_another_day_shows_its_date(store, policy, clock):
    create(store, clock, stale_after_s=3 * 86_400)
    assert "becomes stale at 2023-11-17 22:13:20 UTC (in 3 days)" in why(store, policy, clock)


def test_a_command_the_platform_expires_before_its_stale_deadline(store, policy, clock):
    create(store, clock, stale_after_s=3600, expire_after_s=600)
    assert why(store, policy, clock) == (
        "Waiting for the device to wake; the platform expires it at 22:23:20 UTC (in 10 min), "
        "before it would become stale at 23:13:20 UTC (in 60 min).")


def test_stale_and_not_yet_claimed_goes_to_a_worker_within_a_sweep(store, policy, clock):
    create(store, clock, stale_after_s=60)
    clock.advance(63)
    assert why(store, policy, clock) == (
        "Stale since 22:14:20 UTC (3 s ago); the clock hands it to a worker for revocation "
        "within 5 s.")


def test_stale_and_claimed_is_being_revoked_until_the_lease_runs_out(store, policy, clock):
    create(store, clock, stale_after_s=60)
    clock.advance(61)
    assert claim(store.client, store.scripts, clock()).revoke
    assert why(store, policy, clock) == (
        "Stale since 22:14:20 UTC (1 s ago); a worker is revoking it now (if that job dies, "
        "the clock offers it again at 22:24:21 UTC (in 10 min)).")
    clock.advance(601)  # the job died: its lease ran out
    assert why(store, policy, clock) == (
        "Stale since 22:14:20 UTC (10 min ago); a revocation job took it and did not finish; "
        "the clock hands it to a worker for revocation within 5 s.")


def test_stale_long_past_a_sweep_asks_whether_the_clock_runs(store, policy, clock):
    create(store, clock, stale_after_s=60)
    clock.advance(60 + 3 * SWEEP_S + 1)
    line = why(store, policy, clock)
    assert line.startswith("Stale since 22:14:20 UTC (16 s ago); its revocation is overdue by "
                           "16 s: is the clock process running?")


def test_a_superseded_command_says_so(store, policy, clock):
    create(store, clock, "old", stale_after_s=3600)
    clock.advance(1)
    create(store, clock, "new", stale_after_s=3600, supersede=True)
    line = why(store, policy, clock, "old")
    assert line.startswith("Superseded by command new. Stale since 22:13:21 UTC (now);")


def test_a_onenet_style_retry_waits_for_the_next_uplink(store, policy, clock):
    create(store, clock, stale_after_s=3600)
    event(store, clock, State.SENT)
    clock.advance(1)
    event(store, clock, State.PENDING, attempt=1)  # no answer: back to waiting, one try less
    line = why(store, policy, clock)
    assert line.startswith("Sent 1 time(s) without an answer; the platform tries again when "
                           "the device next sends something up. Waiting for the device to wake")


def test_parked_after_a_refused_cancel_waits_for_the_history_re_check(store, policy, clock):
    create(store, clock, stale_after_s=60)
    clock.advance(61)
    store.park_uncancellable("huawei", DEVICE, ["c1"])
    store.request_reconcile("huawei", DEVICE, clock())
    assert why(store, policy, clock) == (
        "The platform sent it while we were cancelling; history re-check due since 22:14:21 UTC "
        "(now): the clock hands it to a worker within 5 s to learn what became of it.")
    store.finish_reconcile("huawei", DEVICE, clock())  # history did not mention it
    assert why(store, policy, clock) == (
        "The platform sent it while we were cancelling; history re-checked at 22:29:21 UTC "
        "(in 15 min) to learn what became of it, then every 15 min until it settles.")


def test_a_failed_revocation_is_retried_after_the_history_re_check(store, policy, clock):
    create(store, clock, stale_after_s=60)
    clock.advance(61)
    store.record_error("huawei", DEVICE, "c1",
                       {"code": "platform_rejected", "message": "device not found"}, clock())
    assert why(store, policy, clock) == (
        "Revocation failed at 22:14:21 UTC (now) (platform_rejected: device not found); "
        "history re-checked at 22:28:20 UTC (in 14 min): if the platform still holds it "
        "waiting, it is revoked again then.")
    # the re-check finds it still waiting: it is back on the stale index, the error kept
    clock.advance(900)
    event(store, clock, State.PENDING, source=Source.RECONCILE)
    assert why(store, policy, clock).startswith(
        "An earlier revocation failed (platform_rejected: device not found). Stale since "
        "22:14:20 UTC (15 min ago); its revocation is overdue")


def test_a_command_learned_from_a_callback_is_never_revoked(store, policy, clock):
    event(store, clock, State.PENDING, "stranger")
    assert why(store, policy, clock, "stranger") == (
        "Not created through cmdkeeper (learned from a callback or the platform's history), so "
        "it has no stale deadline and is never revoked; history re-check due since 22:13:20 UTC "
        "(now): the clock hands it to a worker within 5 s.")


def test_sent_waits_for_delivery_then_history_is_re_checked(store, policy, clock):
    create(store, clock)
    clock.advance(30)
    event(store, clock, State.SENT)
    clock.advance(30)
    assert why(store, policy, clock) == (
        "Sent at 22:13:50 UTC (30 s ago); no delivery callback yet — history re-checked at "
        "22:28:50 UTC (in 14 min), then every 15 min until it settles.")


def test_an_unknown_status_says_so_and_that_history_is_re_checked_now(store, policy, clock):
    create(store, clock)
    clock.advance(30)
    event(store, clock, State.SENT)
    store.apply_event(Event("huawei", DEVICE, "c1", None, "QUEUED", clock(), Source.CALLBACK),
                      clock())
    assert why(store, policy, clock) == (
        "The platform last reported 'QUEUED', a status cmdkeeper does not know: noted, not "
        "applied, and the device's history re-checked to learn what became of it. Sent at "
        "22:13:50 UTC (now); no delivery callback yet — history re-check due since "
        "22:13:50 UTC (now): the clock hands it to a worker within 5 s.")


def test_delivered_past_its_quiet_time_is_re_checked_within_a_sweep(store, policy, clock):
    create(store, clock)
    event(store, clock, State.DELIVERED)
    clock.advance(901)
    assert why(store, policy, clock) == (
        "Delivered at 22:13:20 UTC (15 min ago); no result callback yet — history re-check due "
        "since 22:28:20 UTC (1 s ago): the clock hands it to a worker within 5 s.")


def test_delivered_being_re_checked_by_a_worker(store, policy, clock):
    create(store, clock, stale_after_s=3600)
    event(store, clock, State.DELIVERED)
    clock.advance(901)
    assert claim(store.client, store.scripts, clock()).reconcile
    line = why(store, policy, clock)
    assert line.endswith("no result callback yet — a worker is re-checking the device's "
                         "history now (if that job dies, the clock offers it again at "
                         "22:38:21 UTC (in 10 min)).")


def test_a_re_check_long_overdue_asks_whether_the_clock_runs(store, policy, clock):
    create(store, clock, stale_after_s=3600)
    event(store, clock, State.SENT)
    clock.advance(900 + 60)
    assert why(store, policy, clock).endswith(
        "its history re-check is overdue by 60 s: is the clock process running? (`clock` hands "
        "due work to the workers every SWEEP_INTERVAL_S).")


def test_nothing_scheduled_is_said_plainly(policy):
    view = DeviceView(commands=[], stale_at={}, quiet_at={}, reconcile_requested_at=None,
                      revoke_due_ms=None, reconcile_due_ms=None)
    record = {"command_id": "c1", "state": "SENT", "updated_at": START_MS}
    assert why_stuck(record, view, policy, START_MS).endswith(
        "no history re-check is scheduled.")

"""The "why is it stuck?" line says what cmdkeeper does next, for every kind of open command."""

from __future__ import annotations

from dashboard.why import CLAIMED_AFTER_MS, why_stuck
from store.device_view import DeviceView

NOW = 1_800_000_000_000
SWEEP_S = 5


def view(**kw) -> DeviceView:
    base = dict(commands=[], stale_at={}, quiet_at={}, reconcile_requested_at=None,
                revoke_due_ms=None, reconcile_due_ms=None)
    return DeviceView(**{**base, **kw})


def command(state="PENDING", **kw) -> dict:
    return {"command_id": "c1", "state": state, "created_at": NOW - 60_000,
            "updated_at": NOW - 30_000, **kw}


def test_a_final_command_is_not_stuck():
    for state in ("SUCCEEDED", "FAILED", "TIMEOUT", "CANCELED"):
        assert why_stuck(command(state), view(), NOW, SWEEP_S) is None


def test_pending_before_its_deadline_waits_for_the_device_then_is_revoked():
    line = why_stuck(command(), view(stale_at={"c1": NOW + 40_000}), NOW, SWEEP_S)
    assert line.startswith("Waiting for the device to wake.")
    assert "2027-01-15 08:00:40 UTC (in 40 s)" in line and "will be revoked then" in line


def test_stale_and_not_yet_claimed_goes_to_a_worker_within_a_sweep():
    line = why_stuck(command(), view(stale_at={"c1": NOW - 3_000}, revoke_due_ms=NOW - 3_000),
                     NOW, SWEEP_S)
    assert line.startswith("Stale since 2027-01-15 07:59:57 UTC (3 s ago)")
    assert "within 5 s" in line


def test_stale_and_claimed_is_being_revoked_with_the_retry_time():
    lease = NOW + CLAIMED_AFTER_MS + 540_000
    line = why_stuck(command(), view(stale_at={"c1": NOW - 3_000}, revoke_due_ms=lease),
                     NOW, SWEEP_S)
    assert "a worker is revoking it now" in line and "(in 10 min)" in line


def test_parked_pending_waits_for_the_history_re_query():
    line = why_stuck(command(), view(reconcile_requested_at=NOW + 120_000), NOW, SWEEP_S)
    assert line.startswith("The platform would not cancel it")
    assert "re-queried at 2027-01-15 08:02:00 UTC (in 2 min), to learn what became of it" in line


def test_a_refused_cancel_says_cmdkeeper_stopped_trying():
    error = {"code": "platform_rejected", "message": "device not found"}
    line = why_stuck(command(error=error), view(), NOW, SWEEP_S)
    assert "platform_rejected: device not found" in line and "does not try again" in line


def test_sent_waits_for_delivery_then_re_queries_history():
    line = why_stuck(command("SENT"), view(quiet_at={"c1": NOW + 600_000}), NOW, SWEEP_S)
    assert line.startswith("Sent since 2027-01-15 07:59:30 UTC (30 s ago); waiting for the "
                           "delivery callback.")
    assert "re-queried at 2027-01-15 08:10:00 UTC (in 10 min), in case callbacks were lost" in line


def test_delivered_past_its_quiet_time_is_re_queried_within_a_sweep():
    line = why_stuck(command("DELIVERED"), view(quiet_at={"c1": NOW - 1}), NOW, SWEEP_S)
    assert "waiting for the result callback" in line
    assert "due for a re-query now" in line and "within 5 s" in line


def test_nothing_scheduled_is_said_plainly():
    line = why_stuck(command("SENT"), view(), NOW, SWEEP_S)
    assert line.endswith("No history re-query is scheduled.")

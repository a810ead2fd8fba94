"""The "why is it stuck?" line of an open command: what cmdkeeper will do next, and when.

A plain function of the command's record, the device's indexes (store/device_view.py) and the
time, mirroring what the clock and the workers do (workers/clock.py, revoke.py, reconcile.py):
a PENDING command waits for its device until it goes stale, then is revoked; one the platform
would not cancel is parked until a history re-query learns its state; a sent command waits for
its next callback until its silence calls for a re-query.
"""

from __future__ import annotations

from typing import Any

from dashboard.timefmt import when
from store.device_view import DeviceView

#: A lease this far beyond a deadline means the clock has handed the device to a worker.
CLAIMED_AFTER_MS = 60_000

NEXT_CALLBACK = {"SENT": "delivery", "DELIVERED": "result"}


def why_stuck(command: dict[str, Any], view: DeviceView, now_ms: int,
              sweep_interval_s: int) -> str | None:
    """One sentence for an open command; None for a final one."""
    state, command_id = command["state"], command["command_id"]
    if state not in ("PENDING", "SENT", "DELIVERED"):
        return None
    if state == "PENDING":
        return _pending(command, view, now_ms, sweep_interval_s)
    last = command.get("updated_at") or command.get("created_at")
    since = f"{state.title()} since {when(last, now_ms)}" if last else state.title()
    return (f"{since}; waiting for the {NEXT_CALLBACK[state]} callback. "
            + _reconcile_plan(command_id, view, now_ms, sweep_interval_s))


def _pending(command: dict[str, Any], view: DeviceView, now_ms: int,
             sweep_interval_s: int) -> str:
    command_id = command["command_id"]
    error = command.get("error")
    if error:
        return (f"The platform refused to cancel it ({error.get('code', 'error')}: "
                f"{error.get('message', '')}); cmdkeeper does not try again. Revoke it on the "
                "platform, or reconcile the device once that is done.")
    stale_at = view.stale_at.get(command_id)
    if stale_at is None:
        return ("The platform would not cancel it: it had probably sent it already. "
                + _reconcile_plan(command_id, view, now_ms, sweep_interval_s,
                                  why="to learn what became of it"))
    if stale_at > now_ms:
        return (f"Waiting for the device to wake. Becomes stale at {when(stale_at, now_ms)} "
                "and will be revoked then.")
    due = view.revoke_due_ms
    if due is not None and due - now_ms > CLAIMED_AFTER_MS:
        return (f"Stale since {when(stale_at, now_ms)}; a worker is revoking it now "
                f"(if that fails, it is tried again by {when(due, now_ms)}).")
    return (f"Stale since {when(stale_at, now_ms)}; the clock hands it to a worker for "
            f"revocation within {sweep_interval_s} s.")


def _reconcile_plan(command_id: str, view: DeviceView, now_ms: int, sweep_interval_s: int,
                    *, why: str = "in case callbacks were lost") -> str:
    candidates = [t for t in (view.quiet_at.get(command_id), view.reconcile_requested_at)
                  if t is not None]
    if not candidates:
        return "No history re-query is scheduled."
    at = min(candidates)
    if at > now_ms:
        return f"Its device's history will be re-queried at {when(at, now_ms)}, {why}."
    return (f"Its device's history is due for a re-query now ({why}); the clock hands it to a "
            f"worker within {sweep_interval_s} s.")

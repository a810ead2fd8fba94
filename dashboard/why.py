"""The "why is it stuck?" line of an open command: what cmdkeeper will do next, and when.

A plain function of the command's record, the device's indexes (store/device_view.py), the
policy and the time, mirroring what the clock and the workers do:
- a PENDING command sits on its device's stale index until its deadline; the clock claims the
  device (up to one sweep ahead) and a worker revokes it then (workers/clock.py, revoke.py);
- a claim pushes the device's place on the fleet-wide index a lease ahead; the job puts it back
  when it ends, so a score past the device's own earliest deadline means a job holds it, and the
  lease's end is when the clock offers the work again if that job dies;
- a command the platform would not cancel is parked (off the stale index) and its device's
  history re-checked; a permanent refusal is kept as the record's `error` and also parked; a
  re-check that finds it still waiting makes it revocable again (store/lua/apply_event.lua);
- every open command has a quiet deadline: after RECONCILE_AFTER_S without news, the device's
  history is re-checked, and again that long after each re-check (workers/reconcile.py);
- on IoTDA (no cancel) a command waits in cmdkeeper's hold-back queue until the ones ahead are
  final, and is revoked there, without a platform call, if it goes stale first; one handed over
  is the platform's to expire at its deadline, and its history is re-checked just after
  (docs/architecture.md, "The hold-back queue").
"""

from __future__ import annotations

from typing import Any

from cmdkeeper.config import Config
from dashboard.timefmt import duration, when
from store.device_view import DeviceView

OPEN_STATES = ("PENDING", "SENT", "DELIVERED")
#: Work this many sweeps past its deadline, and not claimed, means the clock is not sweeping.
OVERDUE_SWEEPS = 3

NEXT_CALLBACK = {"SENT": "delivery", "DELIVERED": "result"}


def why_stuck(command: dict[str, Any], view: DeviceView, config: Config,
              now_ms: int) -> str | None:
    """One or two sentences for an open command; None for a final one."""
    state = command["state"]
    if state not in OPEN_STATES:
        return None
    unknown = _unknown_news(command)
    if state == "PENDING":
        return unknown + _pending(command, view, config, now_ms)
    since = command.get("updated_at") or command.get("created_at")
    head = f"{state.title()} at {when(since, now_ms)}" if since else state.title()
    return (f"{unknown}{head}; no {NEXT_CALLBACK[state]} callback yet — "
            + _recheck(command, view, config, now_ms) + ".")


def _unknown_news(command: dict[str, Any]) -> str:
    """A sentence when the newest news of the command is a status cmdkeeper does not know (the
    webhook took it, the state did not move, and its device's history is asked instead)."""
    timeline = command.get("timeline") or []
    if not timeline or timeline[-1].get("state") is not None:
        return ""
    return (f"The platform last reported {timeline[-1]['platform_status']!r}, a status "
            "cmdkeeper does not know: noted, not applied, and the device's history re-checked "
            "to learn what became of it. ")


def _pending(command: dict[str, Any], view: DeviceView, config: Config, now_ms: int) -> str:
    command_id = command["command_id"]
    stale_at = view.stale_at.get(command_id)
    error = command.get("error")
    if command.get("platform_command_id") and command.get("released_at"):
        return _handed_over(command, view, config, now_ms)
    if command_id in view.held and stale_at is not None and stale_at > now_ms:
        return _held(command, view, config, now_ms, stale_at)
    if stale_at is None:
        if error:
            recheck = _recheck(command, view, config, now_ms, repeat=False)
            return (f"Revocation failed{_at(command.get('error_at'), now_ms)} "
                    f"({_describe(error)}); {recheck}: if the platform still holds it waiting, "
                    "it is revoked again then.")
        if command.get("origin") != "api" or not command.get("stale_at"):
            return ("Not created through cmdkeeper (learned from a callback or the platform's "
                    "history), so it has no stale deadline and is never revoked; "
                    f"{_recheck(command, view, config, now_ms)}.")
        recheck = _recheck(command, view, config, now_ms, purpose=" to learn what became of it")
        return f"The platform sent it while we were cancelling; {recheck}."
    prefix = ""
    if command.get("attempt"):
        prefix = (f"Sent {command['attempt']} time(s) without an answer; the platform tries "
                  "again when the device next sends something up. ")
    if command.get("replaced_by"):
        prefix += f"Superseded by command {command['replaced_by']}. "
    if error:
        prefix += f"An earlier revocation failed ({_describe(error)}). "
    if command_id in view.held:
        prefix += ("Held back, never handed to the platform: it is revoked here, without a "
                   "platform call. ")
    if stale_at > now_ms:
        expire_at = command.get("expire_at")
        if expire_at and now_ms < expire_at < stale_at:
            return (prefix + f"Waiting for the device to wake; the platform expires it at "
                    f"{when(expire_at, now_ms)}, before it would become stale at "
                    f"{when(stale_at, now_ms)}.")
        return (prefix + f"Waiting for the device to wake; becomes stale at "
                f"{when(stale_at, now_ms)} and will be revoked then.")
    since = f"Stale since {when(stale_at, now_ms)}; "
    lease_end = _claimed_until(view.revoke_due_ms, view.stale_at.values())
    if lease_end is not None and lease_end > now_ms:
        return (prefix + since + "a worker is revoking it now (if that job dies, the clock "
                f"offers it again at {when(lease_end, now_ms)}).")
    if lease_end is not None:
        since += "a revocation job took it and did not finish; "
    due = view.revoke_due_ms if view.revoke_due_ms is not None else stale_at
    overdue = _overdue(due, config, now_ms)
    if overdue:
        return prefix + since + f"its revocation is {overdue}."
    return (prefix + since + "the clock hands it to a worker for revocation within "
            f"{config.sweep_interval_s} s.")


def _held(command: dict[str, Any], view: DeviceView, config: Config, now_ms: int,
          stale_at: int) -> str:
    """A command in the hold-back queue, not stale yet."""
    command_id = command["command_id"]
    ahead = [c["command_id"] for c in reversed(view.commands) if c["command_id"] in view.in_flight]
    ahead = ahead or view.held[:view.held.index(command_id)]
    then = (f"becomes stale at {when(stale_at, now_ms)} and will then be revoked here without "
            "a platform call")
    if ahead:
        return (f"Held back: waiting for command {ahead[0]} ahead to finish (the platform is "
                f"given {config.iotda_in_flight_per_device} of the device's commands at a time"
                f", as it cannot revoke them); {then}.")
    due = view.release_due_ms
    soon = (f"the clock hands it over by {when(due, now_ms)} if no worker has"
            if due is not None else "a worker hands it over now")
    return f"Held back, the device has room now: {soon}; else it {then}."


def _handed_over(command: dict[str, Any], view: DeviceView, config: Config,
                 now_ms: int) -> str:
    """A command the hold-back queue handed over: the platform's to expire."""
    released, expire_at = command.get("released_at"), command.get("expire_at")
    expire_s = (expire_at - released) // 1000 if expire_at and released else None
    sent = (f"Sent to the platform (as {command['platform_command_id']}) at "
            f"{when(released, now_ms)}" + (f" with expire_time {expire_s} s" if expire_s else ""))
    recheck = _recheck(command, view, config, now_ms, purpose=" to learn what became of it",
                       repeat=False)
    if expire_at and expire_at > now_ms:
        return (f"{sent}; waiting for the device to wake. The platform cannot revoke it: it "
                f"expires it at {when(expire_at, now_ms)} if the device has not taken it by "
                f"then; {recheck}.")
    return (f"{sent}; the platform should have expired it at {when(expire_at, now_ms)} unless "
            f"the device took it first; {recheck}.")


def _recheck(command: dict[str, Any], view: DeviceView, config: Config, now_ms: int, *,
             purpose: str = "", repeat: bool = True) -> str:
    """When the device's history is next re-checked for this command (a clause)."""
    own = [t for t in (view.quiet_at.get(command["command_id"]), view.reconcile_requested_at)
           if t is not None]
    if not own:
        return "no history re-check is scheduled"
    lease_end = _claimed_until(view.reconcile_due_ms, view.quiet_deadlines())
    if lease_end is not None and lease_end > now_ms:
        return (f"a worker is re-checking the device's history now{purpose} (if that job dies, "
                f"the clock offers it again at {when(lease_end, now_ms)})")
    at = min(own)
    if at > now_ms:
        then = (f", then every {duration(config.reconcile_after_s * 1000)} until it settles"
                if repeat else "")
        return f"history re-checked at {when(at, now_ms)}{purpose}{then}"
    unfinished = "a re-check job took it and did not finish; " if lease_end is not None else ""
    overdue = _overdue(view.reconcile_due_ms if view.reconcile_due_ms is not None else at,
                       config, now_ms)
    if overdue:
        return f"{unfinished}its history re-check is {overdue}"
    return (f"{unfinished}history re-check due since {when(at, now_ms)}: the clock hands it to "
            f"a worker within {config.sweep_interval_s} s{purpose}")


def _claimed_until(due_ms: int | None, deadlines) -> int | None:
    """The lease's end when a job holds the device: its fleet-wide score lies past its own
    earliest deadline (an unclaimed device's score is that deadline)."""
    earliest = min(deadlines, default=None)
    if due_ms is None or earliest is None or due_ms <= earliest:
        return None
    return due_ms


def _overdue(due_ms: int, config: Config, now_ms: int) -> str | None:
    late_ms = now_ms - due_ms
    if late_ms <= OVERDUE_SWEEPS * config.sweep_interval_s * 1000:
        return None
    return (f"overdue by {duration(late_ms)}: is the clock process running? "
            "(`clock` hands due work to the workers every SWEEP_INTERVAL_S)")


def _describe(error: dict[str, Any]) -> str:
    code, message = error.get("code", "error"), error.get("message", "")
    return f"{code}: {message}" if message else str(code)


def _at(ms: Any, now_ms: int) -> str:
    try:
        return f" at {when(int(ms), now_ms)}" if ms else ""
    except (TypeError, ValueError):
        return ""

"""Is a dead-lettered job still wanted? One check per actor, against the store as it is now.

A job died a while ago; since then callbacks, sweeps and operators may have done its work.
Replaying it blindly would cancel, query or apply for nothing (and spend platform calls), so each
actor's job is re-checked first:

- `apply_event`: wanted unless the command is already in the event's state or beyond
  (the state machine would only note it as late); an unknown status is always wanted (it asks
  for a reconcile);
- `revoke_device`: wanted while the device has stale PENDING commands (any PENDING ones for a
  revoke of all);
- `follow_cancel_task`: wanted while the device has PENDING commands whose fate the task's
  result would settle;
- `reconcile_device`: wanted unless every open command of the device has had news (a callback
  or a reconcile) since the job was asked, or none is open; an explicit request keeps it wanted.

A job of any other actor is kept in the dead-letter set: there is no check for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cli.table import when
from store import keys
from store.commands import CommandStore
from store.model import CURRENT_ATTEMPT, TERMINAL_RANK, Event, State
from store.readers import command_progress, members_with_deadlines


class Decision(StrEnum):
    REPLAY = "replay"
    DROP = "drop"
    KEEP = "keep"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str


def replay(reason: str) -> Verdict:
    return Verdict(Decision.REPLAY, reason)


def drop(reason: str) -> Verdict:
    return Verdict(Decision.DROP, reason)


def _apply_event(store: CommandStore, params: dict[str, Any], asked_ms: int,
                 now_ms: int) -> Verdict:
    try:
        event = Event.from_message(params["event"])
    except (KeyError, ValueError, TypeError) as e:
        return drop(f"malformed event ({type(e).__name__}: {e}): it can never apply")
    current = command_progress(store.client, event.platform, event.device_id, event.command_id)
    if current is None:
        return replay("the command is not recorded yet")
    if event.state is None:
        return replay("a status cmdkeeper does not know: replaying notes it and asks for a "
                      "reconcile of its device")
    state, attempt = State(current[0]), current[1]
    event_attempt = attempt if event.attempt == CURRENT_ATTEMPT else event.attempt
    if state.rank == TERMINAL_RANK:
        return drop(f"the command is already {state.value} (final)")
    if event_attempt > attempt or (event_attempt == attempt and event.state.rank > state.rank):
        return replay(f"it moves the command from {state.value} to {event.state.value}")
    return drop(f"the command is already {state.value}, at or beyond {event.state.value}")


def _revoke_device(store: CommandStore, params: dict[str, Any], asked_ms: int,
                   now_ms: int) -> Verdict:
    pending = store.device_state(params["platform"], params["device_id"]).pending
    only_stale = params.get("only_stale", True)
    targets = [c for c, at in pending.items() if at <= now_ms or not only_stale]
    kind = "stale PENDING" if only_stale else "PENDING"
    if not targets:
        return drop(f"the device has no {kind} command left")
    return replay(f"{len(targets)} {kind} command(s) still to cancel")


def _follow_cancel_task(store: CommandStore, params: dict[str, Any], asked_ms: int,
                        now_ms: int) -> Verdict:
    pending = store.device_state(params["platform"], params["device_id"]).pending
    if not pending:
        return drop("the device has no PENDING command left for the task's result to settle")
    return replay(f"{len(pending)} PENDING command(s) the task's result may settle")


def _reconcile_device(store: CommandStore, params: dict[str, Any], asked_ms: int,
                      now_ms: int) -> Verdict:
    quiet = members_with_deadlines(store.client,
                                   keys.device_quiet(params["platform"], params["device_id"]))
    if any(member == "*" for member, _ in quiet):
        return replay("a reconcile of the device is requested")
    if not quiet:
        return drop("the device has no open command left")
    # Every open command's deadline is its last news (callback or reconcile) plus
    # RECONCILE_AFTER_S: the earliest one tells when the least recently heard-of had news.
    heard_ms = min(at for _, at in quiet) - store.reconcile_after_ms
    if heard_ms >= asked_ms:
        return drop(f"every open command had news since the job was asked ({when(asked_ms)})")
    return replay(f"{len(quiet)} open command(s), the quietest without news since "
                  f"{when(heard_ms)}")


Check = Callable[[CommandStore, dict[str, Any], int, int], Verdict]

CHECKS: dict[str, Check] = {
    "apply_event": _apply_event,
    "revoke_device": _revoke_device,
    "follow_cancel_task": _follow_cancel_task,
    "reconcile_device": _reconcile_device,
}


def still_wanted(store: CommandStore, actor_name: str, params: dict[str, Any], asked_ms: int,
                 now_ms: int) -> Verdict:
    """Whether the job `actor_name(**params)`, first asked at `asked_ms`, is wanted now."""
    check = CHECKS.get(actor_name)
    if check is None:
        return Verdict(Decision.KEEP, f"no re-check for actor {actor_name!r}: left in place")
    return check(store, params, asked_ms, now_ms)

"""Replaying dead letters: is a job still wanted (one check per actor, against the store as it
is now), and the job as if sent anew. The CLI's `dead-letters` and the dashboard's dead letters
page both replay through here.

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

Replaying is enqueueing the job again through the workers' broker, with fresh retries, and then
taking it out of the dead-letter set: a crash in between leaves a duplicate (every actor is
idempotent), never a lost job.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis
from dramatiq import Broker, Message
from dramatiq.common import q_name
from dramatiq.errors import ActorNotFound, DecodeError

from cmdkeeper.clock import ms_to_iso
from store import keys
from store.commands import CommandStore
from store.dead_letters import DeadLetter, list_dead, remove_dead
from store.model import CURRENT_ATTEMPT, TERMINAL_RANK, Event, State
from store.readers import command_progress, members_with_deadlines
from workers.broker import NAMESPACE

#: Options of a dead message that belong to its past life: a replay starts afresh.
PAST_LIFE_OPTIONS = frozenset({"retries", "traceback", "eta", "requeue_timestamp",
                               "redis_message_id"})


def when(ms: int | None) -> str:
    iso = ms_to_iso(ms)
    return "-" if iso is None else iso[:19] + "Z"


class Decision(StrEnum):
    REPLAY = "replay"
    DROP = "drop"
    KEEP = "keep"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str


def wanted(reason: str) -> Verdict:
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
        return wanted("the command is not recorded yet")
    if event.state is None:
        return wanted("a status cmdkeeper does not know: replaying notes it and asks for a "
                      "reconcile of its device")
    state, attempt = State(current[0]), current[1]
    event_attempt = attempt if event.attempt == CURRENT_ATTEMPT else event.attempt
    if state.rank == TERMINAL_RANK:
        return drop(f"the command is already {state.value} (final)")
    if event_attempt > attempt or (event_attempt == attempt and event.state.rank > state.rank):
        return wanted(f"it moves the command from {state.value} to {event.state.value}")
    return drop(f"the command is already {state.value}, at or beyond {event.state.value}")


def _revoke_device(store: CommandStore, params: dict[str, Any], asked_ms: int,
                   now_ms: int) -> Verdict:
    pending = store.device_state(params["platform"], params["device_id"]).pending
    only_stale = params.get("only_stale", True)
    targets = [c for c, at in pending.items() if at <= now_ms or not only_stale]
    kind = "stale PENDING" if only_stale else "PENDING"
    if not targets:
        return drop(f"the device has no {kind} command left")
    return wanted(f"{len(targets)} {kind} command(s) still to cancel")


def _follow_cancel_task(store: CommandStore, params: dict[str, Any], asked_ms: int,
                        now_ms: int) -> Verdict:
    pending = store.device_state(params["platform"], params["device_id"]).pending
    if not pending:
        return drop("the device has no PENDING command left for the task's result to settle")
    return wanted(f"{len(pending)} PENDING command(s) the task's result may settle")


def _reconcile_device(store: CommandStore, params: dict[str, Any], asked_ms: int,
                      now_ms: int) -> Verdict:
    quiet = members_with_deadlines(store.client,
                                   keys.device_quiet(params["platform"], params["device_id"]))
    if any(member == "*" for member, _ in quiet):
        return wanted("a reconcile of the device is requested")
    if not quiet:
        return drop("the device has no open command left")
    # Every open command's deadline is its last news (callback or reconcile) plus
    # RECONCILE_AFTER_S: the earliest one tells when the least recently heard-of had news.
    heard_ms = min(at for _, at in quiet) - store.reconcile_after_ms
    if heard_ms >= asked_ms:
        return drop(f"every open command had news since the job was asked ({when(asked_ms)})")
    return wanted(f"{len(quiet)} open command(s), the quietest without news since "
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


def decode(letter: DeadLetter) -> Message | None:
    if letter.data is None:
        return None
    try:
        return Message.decode(letter.data)
    except DecodeError:
        return None


def describe(message: Message) -> str:
    if message.actor_name == "apply_event":
        e = (message.kwargs.get("event") or (message.args or [{}])[0]) or {}
        if isinstance(e, dict):
            return (f"apply_event({e.get('platform')} {e.get('device_id')} "
                    f"{e.get('command_id')} -> {e.get('state')})")
    return str(message)


def device_of(message: Message) -> tuple[str, str] | None:
    """(platform, device id) a job is about, when its arguments say."""
    if message.actor_name == "apply_event":
        e = (message.kwargs.get("event") or (message.args or [{}])[0]) or {}
        found = (e.get("platform"), e.get("device_id")) if isinstance(e, dict) else (None, None)
    else:
        args = [*message.args, None, None]
        found = (message.kwargs.get("platform", args[0]),
                 message.kwargs.get("device_id", args[1]))
    if all(isinstance(x, str) and x for x in found):
        return found[0], found[1]
    return None


def params_of(broker: Broker, message: Message) -> dict[str, Any]:
    """The job's arguments by name, defaults filled in (ActorNotFound, TypeError)."""
    actor = broker.get_actor(message.actor_name)
    bound = inspect.signature(actor.fn).bind(*message.args, **message.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def verdict(store: CommandStore, broker: Broker, message: Message | None,
            now_ms: int) -> Verdict:
    if message is None:
        return Verdict(Decision.KEEP, "unreadable message: left in place")
    try:
        params = params_of(broker, message)
    except ActorNotFound:
        return Verdict(Decision.KEEP, f"no actor {message.actor_name!r}: left in place")
    except TypeError as e:
        return Verdict(Decision.DROP, f"arguments do not fit the actor ({e})")
    return still_wanted(store, message.actor_name, params, message.message_timestamp, now_ms)


def fresh(message: Message) -> Message:
    """The message as if sent anew: its queue (not the delay queue), no retries used."""
    options = {k: v for k, v in message.options.items() if k not in PAST_LIFE_OPTIONS}
    return dataclasses.replace(message, queue_name=q_name(message.queue_name), options=options)


def queues(broker: Broker) -> list[str]:
    """The queues cmdkeeper's actors use (each has its own dead-letter set)."""
    return sorted({q_name(q) for q in broker.get_declared_queues()})


def dead(client: redis.Redis, broker: Broker, ids: list[str] | None = None) -> list[DeadLetter]:
    """Dead letters of every queue, oldest first (only `ids` when given)."""
    letters = [letter for queue in queues(broker)
               for letter in list_dead(client, NAMESPACE, queue, ids)]
    return sorted(letters, key=lambda letter: letter.dead_at_ms)


def replay_letter(store: CommandStore, broker: Broker, letter: DeadLetter, now_ms: int, *,
           dry_run: bool = False) -> Verdict:
    """Re-check one dead letter and act on it: enqueue it again (then take it out), take it out
    without running it, or leave it."""
    message = decode(letter)
    v = verdict(store, broker, message, now_ms)
    if dry_run:
        return v
    if v.decision is Decision.REPLAY:
        broker.enqueue(fresh(message))
    if v.decision is not Decision.KEEP:
        remove_dead(store.client, NAMESPACE, letter.queue_name, [letter.id])
    return v

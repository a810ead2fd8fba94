"""`dead-letters list | replay`: jobs the workers gave up on, in dramatiq's dead-letter set.

Replay re-checks each job first (cli/wanted.py): a job still wanted is enqueued again
through the workers' broker, with fresh retries, and then taken out of the dead-letter set; one
no longer wanted is taken out without running, and the reason is printed; one of an actor
without a check stays. Enqueueing comes before removing, so a crash in between leaves a
duplicate (every actor is idempotent), never a lost job.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from typing import Any

import click
from dramatiq import Broker, Message
from dramatiq.common import q_name
from dramatiq.errors import ActorNotFound, DecodeError

from cli.errors import EXIT_CONFIG, EXIT_NOT_FOUND, CliError, scrub
from cli.session import Session
from cli.table import render, when
from cli.wanted import Decision, Verdict, still_wanted
from store.dead_letters import DeadLetter, list_dead, remove_dead
from workers.broker import NAMESPACE

#: Options of a dead message that belong to its past life: a replay starts afresh.
PAST_LIFE_OPTIONS = frozenset({"retries", "traceback", "eta", "requeue_timestamp",
                               "redis_message_id"})


def queues(broker: Broker) -> list[str]:
    """The queues cmdkeeper's actors use (each has its own dead-letter set)."""
    return sorted({q_name(q) for q in broker.get_declared_queues()})


def redis_broker(session: Session) -> Broker:
    """The workers' broker, when it is Redis (whose dead-letter sets this command reads)."""
    if session.config.broker_url:
        raise CliError("the jobs go through RabbitMQ (BROKER_URL): its dead-letter queues "
                       "(<queue>.XQ) are RabbitMQ's; see its management tools", EXIT_CONFIG)
    return session.broker()


def dead(session: Session, broker: Broker, ids: list[str] | None = None) -> list[DeadLetter]:
    """Dead letters of every queue, oldest first (only `ids` when given)."""
    letters = [letter for queue in queues(broker)
               for letter in list_dead(session.client, NAMESPACE, queue, ids)]
    return sorted(letters, key=lambda letter: letter.dead_at_ms)


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
        args = list(message.args) + [None, None]
        found = (message.kwargs.get("platform", args[0]),
                 message.kwargs.get("device_id", args[1]))
    return found if all(isinstance(x, str) and x for x in found) else None  # type: ignore


def last_error(message: Message, secrets: list[str]) -> str:
    lines = [ln for ln in (message.options.get("traceback") or "").splitlines() if ln.strip()]
    return scrub(lines[-1].strip(), secrets) if lines else "-"


def params_of(broker: Broker, message: Message) -> dict[str, Any]:
    """The job's arguments by name, defaults filled in (ActorNotFound, TypeError)."""
    actor = broker.get_actor(message.actor_name)
    bound = inspect.signature(actor.fn).bind(*message.args, **message.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def verdict(session: Session, broker: Broker, message: Message | None) -> Verdict:
    if message is None:
        return Verdict(Decision.KEEP, "unreadable message: left in place")
    try:
        params = params_of(broker, message)
    except ActorNotFound:
        return Verdict(Decision.KEEP, f"no actor {message.actor_name!r}: left in place")
    except TypeError as e:
        return Verdict(Decision.DROP, f"arguments do not fit the actor ({e})")
    return still_wanted(session.store, message.actor_name, params, message.message_timestamp,
                        session.now())


def fresh(message: Message) -> Message:
    """The message as if sent anew: its queue (not the delay queue), no retries used."""
    options = {k: v for k, v in message.options.items() if k not in PAST_LIFE_OPTIONS}
    return dataclasses.replace(message, queue_name=q_name(message.queue_name), options=options)


@click.group("dead-letters", short_help="List or replay jobs the workers gave up on.")
def dead_letters() -> None:
    """Jobs the workers gave up on (retries exhausted, or a permanent error).

    dramatiq keeps them a week in the dead-letter set of each queue.

    \b
    Examples:
      python -m cmdkeeper dead-letters list
      python -m cmdkeeper dead-letters replay --all --dry-run
    """


@dead_letters.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.pass_obj
def list_command(session: Session, as_json: bool) -> None:
    """List dead-lettered jobs, oldest first, with the last error each had.

    \b
    Example:
      python -m cmdkeeper dead-letters list
    """
    letters = dead(session, redis_broker(session))
    secrets = session.config.secrets()
    rows = []
    for letter in letters:
        m = decode(letter)
        rows.append({
            "id": letter.id, "died": when(letter.dead_at_ms),
            "job": describe(m) if m else "(unreadable)",
            "first_sent": when(m.message_timestamp) if m else None,
            "retries": m.options.get("retries", 0) if m else None,
            "last_error": last_error(m, secrets) if m else "-",
        })
    if as_json:
        click.echo(json.dumps({"items": rows}, indent=2))
    elif not rows:
        click.echo("No dead letters.")
    else:
        click.echo(render(("ID", "DIED", "JOB", "RETRIES", "LAST ERROR"),
                          [(r["id"], r["died"], r["job"], r["retries"], r["last_error"])
                           for r in rows]))


@dead_letters.command("replay")
@click.option("--id", "ids", multiple=True, metavar="ID",
              help="A dead letter's id (from `list`); may be repeated.")
@click.option("--all", "every", is_flag=True, help="Every dead letter.")
@click.option("--dry-run", is_flag=True, help="Only say what would be replayed or dropped.")
@click.pass_obj
def replay_command(session: Session, ids: tuple[str, ...], every: bool, dry_run: bool) -> None:
    """Re-check dead-lettered jobs and enqueue again the ones still wanted.

    A job whose work is done or moot by now (no stale command left to revoke, a device
    reconciled since, an event its command is already past) is dropped instead; each line
    says why.

    \b
    Examples:
      python -m cmdkeeper dead-letters replay --all --dry-run
      python -m cmdkeeper dead-letters replay --id 3f0c5a2e-...
    """
    if bool(ids) == every:
        raise click.UsageError("give --id ID (one or more) or --all")
    broker = redis_broker(session)
    letters = dead(session, broker, list(ids) if ids else None)
    missing = sorted(set(ids) - {letter.id for letter in letters})
    if missing:
        raise CliError(f"no dead letter with id {', '.join(missing)}", EXIT_NOT_FOUND)
    if not letters:
        click.echo("No dead letters.")
        return
    counts = {d: 0 for d in Decision}
    rows = []
    for letter in letters:
        message = decode(letter)
        v = verdict(session, broker, message)
        if not dry_run and v.decision is Decision.REPLAY:
            broker.enqueue(fresh(message))
            if (device := device_of(message)) is not None:
                session.note(*device, "replay", describe(message))
        if not dry_run and v.decision is not Decision.KEEP:
            remove_dead(session.client, NAMESPACE, letter.queue_name, [letter.id])
        counts[v.decision] += 1
        action = f"would {v.decision.value}" if dry_run else v.decision.value
        rows.append((action, letter.id, describe(message) if message else "?", v.reason))
    click.echo(render(("ACTION", "ID", "JOB", "WHY"), rows))
    summary = (f"{counts[Decision.REPLAY]} replayed, {counts[Decision.DROP]} dropped, "
               f"{counts[Decision.KEEP]} kept.")
    click.echo(f"Dry run, nothing changed: {summary}" if dry_run else summary)

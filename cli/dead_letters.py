"""`dead-letters list | replay`: jobs the workers gave up on, in dramatiq's dead-letter set.

Replay re-checks each job first (workers/replay.py): a job still wanted is enqueued again
through the workers' broker, with fresh retries, and then taken out of the dead-letter set; one
no longer wanted is taken out without running, and the reason is printed; one of an actor
without a check stays. Enqueueing comes before removing, so a crash in between leaves a
duplicate (every actor is idempotent), never a lost job.
"""

from __future__ import annotations

import json

import click
from dramatiq import Broker, Message

from cli.errors import EXIT_CONFIG, EXIT_NOT_FOUND, CliError, scrub
from cli.session import Session
from cli.table import render, when
from workers.replay import Decision, dead, decode, describe, device_of, replay_letter


def redis_broker(session: Session) -> Broker:
    """The workers' broker, when it is Redis (whose dead-letter sets this command reads)."""
    if session.config.broker_url:
        raise CliError("the jobs go through RabbitMQ (BROKER_URL): its dead-letter queues "
                       "(<queue>.XQ) are RabbitMQ's; see its management tools", EXIT_CONFIG)
    return session.broker()


def last_error(message: Message, secrets: list[str]) -> str:
    lines = [ln for ln in (message.options.get("traceback") or "").splitlines() if ln.strip()]
    return scrub(lines[-1].strip(), secrets) if lines else "-"


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
    letters = dead(session.client, redis_broker(session))
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
    letters = dead(session.client, broker, list(ids) if ids else None)
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
        v = replay_letter(session.store, broker, letter, session.now(), dry_run=dry_run)
        if not dry_run and v.decision is Decision.REPLAY and message is not None \
                and (device := device_of(message)) is not None:
            session.note(*device, "replay", describe(message))
        counts[v.decision] += 1
        action = f"would {v.decision.value}" if dry_run else v.decision.value
        rows.append((action, letter.id, describe(message) if message else "?", v.reason))
    click.echo(render(("ACTION", "ID", "JOB", "WHY"), rows))
    summary = (f"{counts[Decision.REPLAY]} replayed, {counts[Decision.DROP]} dropped, "
               f"{counts[Decision.KEEP]} kept.")
    click.echo(f"Dry run, nothing changed: {summary}" if dry_run else summary)

"""`sweep`: what the clock would hand out now (`--dry-run`), or one real sweep.

`--dry-run` reads the due indexes as the clock's claim would (revocations one sweep interval
ahead, reconciles due now) and claims nothing: no deadline moves, no lease is taken.

Without it, the CLI runs one real sweep: it claims what is due *now* and enqueues the jobs for
the workers, exactly as the clock does (same claim script, same lease). Unlike the clock it
looks no interval ahead: a revocation claimed ahead is sent at its deadline by the process that
claimed it, and a one-off command does not stay to do that. It is safe beside a running clock:
a claim is atomic, so no device is handed out twice. Useful when the clock is down.
"""

from __future__ import annotations

import json
from typing import Any

import click

from cli.session import Session
from cli.table import render, when
from store import keys
from store.readers import Due, count_due, members_with_deadlines, peek_due
from workers.clock import CLAIM_LIMIT, Dispatcher, claim

#: The member of a device's quiet set that is an explicit reconcile request.
REQUEST = "*"


def revoke_plan(session: Session, due: Due, now_ms: int) -> dict[str, Any]:
    pending = members_with_deadlines(session.client,
                                     keys.device_stale(due.platform, due.device_id))
    return {
        "platform": due.platform, "device_id": due.device_id, "deadline": when(due.deadline_ms),
        "due_now": due.deadline_ms <= now_ms,
        "stale": [c for c, at in pending if at <= now_ms],
        "upcoming": [{"command_id": c, "stale_at": when(at)} for c, at in pending
                     if now_ms < at <= due.deadline_ms],
    }


def reconcile_plan(session: Session, due: Due, now_ms: int) -> dict[str, Any]:
    quiet = members_with_deadlines(session.client,
                                   keys.device_quiet(due.platform, due.device_id))
    return {
        "platform": due.platform, "device_id": due.device_id, "deadline": when(due.deadline_ms),
        "requested": any(c == REQUEST and at <= now_ms for c, at in quiet),
        "quiet": [c for c, at in quiet if c != REQUEST and at <= now_ms],
    }


def plan(session: Session) -> dict[str, Any]:
    now = session.now()
    revoke_until = now + session.config.sweep_interval_s * 1000
    client = session.client
    revoke = peek_due(client, keys.DUE_REVOKE, revoke_until, limit=CLAIM_LIMIT)
    reconcile = peek_due(client, keys.DUE_RECONCILE, now, limit=CLAIM_LIMIT)
    return {
        "now": when(now),
        "revoke": [revoke_plan(session, d, now) for d in revoke],
        "reconcile": [reconcile_plan(session, d, now) for d in reconcile],
        "left_for_next_sweep": {
            "revoke": count_due(client, keys.DUE_REVOKE, revoke_until) - len(revoke),
            "reconcile": count_due(client, keys.DUE_RECONCILE, now) - len(reconcile),
        },
    }


def echo_indented(text: str) -> None:
    click.echo("\n".join("  " + line for line in text.splitlines()))


def show_plan(p: dict[str, Any], interval_s: int) -> None:
    click.echo(f"A sweep at {p['now']} would hand out {len(p['revoke'])} revocation(s) and "
               f"{len(p['reconcile'])} reconcile(s). Nothing was claimed.")
    if p["revoke"]:
        click.echo(f"\nRevoke (due now, or sent at the deadline within {interval_s} s):")
        echo_indented(render(("DEVICE", "DEADLINE", "STALE COMMANDS"), [
            (f"{r['platform']}:{r['device_id']}", r["deadline"] + ("" if r["due_now"] else " *"),
             ", ".join(r["stale"]) or ", ".join(
                 f"{u['command_id']} at {u['stale_at']}" for u in r["upcoming"]))
            for r in p["revoke"]]))
        if not all(r["due_now"] for r in p["revoke"]):
            click.echo("  * upcoming: the clock sends it at the deadline")
    if p["reconcile"]:
        click.echo("\nReconcile (due now):")
        echo_indented(render(("DEVICE", "DEADLINE", "WHY"), [
            (f"{r['platform']}:{r['device_id']}", r["deadline"],
             "; ".join(filter(None, ["requested" if r["requested"] else "",
                                     ("no news: " + ", ".join(r["quiet"])) if r["quiet"] else ""
                                     ])))
            for r in p["reconcile"]]))
    left = p["left_for_next_sweep"]
    if left["revoke"] or left["reconcile"]:
        click.echo(f"\nOver the per-sweep limit of {CLAIM_LIMIT}, left for the next sweep: "
                   f"{left['revoke']} revocation(s), {left['reconcile']} reconcile(s).")


def run_once(session: Session) -> None:
    session.broker()
    claimed = claim(session.client, session.store.scripts, session.now())
    Dispatcher()(claimed)
    click.echo(f"Claimed and enqueued {len(claimed.revoke)} revocation(s) and "
               f"{len(claimed.reconcile)} reconcile(s) for the workers.")
    for platform, device_id, deadline in claimed.revoke:
        click.echo(f"  revoke     {platform}:{device_id}  (due {when(deadline)})")
    for platform, device_id, deadline in claimed.reconcile:
        click.echo(f"  reconcile  {platform}:{device_id}  (due {when(deadline)})")
    for platform, device_id, deadline in claimed.release:
        click.echo(f"  release    {platform}:{device_id}  (held commands; due {when(deadline)})")
    if session.client.exists(keys.CLOCK_LOCK):
        click.echo("A clock process is running too; claims are leases, so nothing is handed "
                   "out twice.")


@click.command("sweep")
@click.option("--dry-run", is_flag=True, help="Show what a sweep would hand out; claim nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print the plan as JSON.")
@click.pass_obj
def sweep_command(session: Session, dry_run: bool, as_json: bool) -> None:
    """Show what the clock would hand out now, or run one sweep.

    With --dry-run: the devices due for revocation (with their stale commands) and for
    reconcile (with the commands that had no news, or an explicit request), and their
    deadlines; nothing is claimed. Without it: one real sweep of what is due now, enqueued for
    the workers like the clock does (safe beside a running clock; useful when it is down).

    \b
    Examples:
      python -m cmdkeeper sweep --dry-run
      python -m cmdkeeper sweep
    """
    if as_json and not dry_run:
        raise click.UsageError("--json goes with --dry-run")
    if not dry_run:
        run_once(session)
        return
    p = plan(session)
    if as_json:
        click.echo(json.dumps(p, indent=2))
    else:
        show_plan(p, session.config.sweep_interval_s)

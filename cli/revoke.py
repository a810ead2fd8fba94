"""`revoke PLATFORM DEVICE`: cancel the device's stale PENDING commands now, from the CLI.

It runs the workers' own `revoke_device` with the configured gateway, at revocation priority
on the shared call budget. A Huawei bulk cancel is a task on the platform: the CLI follows it
for up to `--wait` seconds, looking on the workers' schedule (workers/cancel_task.py), then
hands it, with its looks counted, to a worker (`follow_cancel_task`), which records its results
when it ends, and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click

from cli.errors import EXIT_FAILED, CliError
from cli.list_commands import require_device
from cli.session import Session
from cli.table import when
from store.model import PLATFORMS
from store.ratelimit import Priority
from workers import revoke
from workers.cancel_task import CancelTask

#: How long the CLI follows a cancel task before a worker takes over, by default (seconds).
DEFAULT_WAIT_S = 30.0


def follow(session: Session, result: revoke.RevokeResult, wait_s: float,
           monotonic: Callable[[], float] = time.monotonic) -> revoke.RevokeResult:
    """Look at a running cancel task until it ends or `wait_s` has passed."""
    deadline = monotonic() + wait_s
    while result.task and (left_s := deadline - monotonic()) > 0:
        # the last look comes at the deadline rather than never: the schedule's later delays
        # are long, and the caller asked to wait this long
        session.sleep(min(result.task.next_delay_ms / 1000, left_s))
        result = revoke.follow_task(session.store, session.gateway(result.task.platform),
                                    result.task, session.clock, priority=Priority.REVOKE)
    return result


def hand_to_worker(session: Session, task: CancelTask) -> None:
    session.broker()
    from workers import actors

    actors.follow_later(task)


def nothing_to_do(session: Session, platform: str, device_id: str, only_stale: bool) -> str:
    pending = session.store.device_state(platform, device_id).pending
    if not pending:
        return f"Nothing to revoke: {platform} device {device_id} has no PENDING command."
    next_stale = min(pending.values())
    return (f"Nothing to revoke: none of the {len(pending)} PENDING command(s) of {platform} "
            f"device {device_id} is stale yet (the first goes stale at {when(next_stale)}; "
            f"--all cancels them anyway).") if only_stale else "Nothing to revoke."


def report(session: Session, platform: str, result: revoke.RevokeResult) -> None:
    if result.canceled:
        click.echo(f"cancelled:        {', '.join(result.canceled)}")
    if result.not_canceled:
        click.echo(f"not cancellable:  {', '.join(result.not_canceled)}  (the platform would "
                   "not cancel them: sent meanwhile, or no longer held by it; the device's "
                   "history is re-checked to learn their state)")
    for command_id in result.failed:
        record = session.store.get(platform, command_id) or {}
        error = record.get("error") or {}
        click.echo(f"failed:           {command_id}  ({error.get('platform', platform)} error "
                   f"{error.get('code', '?')}: {error.get('text', 'refused')})")


@click.command("revoke", short_help="Cancel a device's stale PENDING commands now.")
@click.argument("platform", type=click.Choice(PLATFORMS), metavar="PLATFORM")
@click.argument("device_id")
@click.option("--all", "every_pending", is_flag=True,
              help="Cancel every PENDING command of the device, fresh ones too.")
@click.option("--wait", "wait_s", type=click.FloatRange(0, 600), default=DEFAULT_WAIT_S,
              show_default=True,
              help="Follow a bulk cancel task this many seconds before a worker takes over.")
@click.pass_obj
def revoke_command(session: Session, platform: str, device_id: str, every_pending: bool,
                   wait_s: float) -> None:
    """Cancel a device's stale PENDING commands on the platform, now.

    When every PENDING command is to go, one bulk cancel does it (a Huawei cancel task, OneNET
    cancel-all); otherwise they are cancelled one by one. IoTDA cannot cancel: its commands
    still held back in cmdkeeper are revoked there, with no platform call, and one already
    handed over expires at the platform at its deadline. Prints what was cancelled, what the
    platform would no longer cancel (it sent it meanwhile) and what failed; exits with 1 when
    some failed.

    \b
    Examples:
      python -m cmdkeeper revoke huawei valve-1
      python -m cmdkeeper revoke onenet 869975031234561 --all
    """
    require_device(session, platform, device_id)
    gateway = session.gateway(platform)
    only_stale = not every_pending
    session.note(platform, device_id, "revoke" if only_stale else "revoke_all")
    result = revoke.revoke_device(session.store, gateway, device_id, session.clock,
                                  only_stale=only_stale, priority=Priority.REVOKE,
                                  requested_by="cli")
    if result.task:
        click.echo(f"Bulk cancel task {result.task.task_id} started; following it...", err=True)
        try:
            result = follow(session, result, wait_s)
        except KeyboardInterrupt:
            pass  # interrupted: the task still holds the device, so a worker takes it over
        if result.task:
            hand_to_worker(session, result.task)
            click.echo(f"Cancel task {result.task.task_id} of {platform} device {device_id} is "
                       "still running: a worker follows it and records which commands it "
                       "cancelled (see `commands` once it ends).")
            return
    if not (result.canceled or result.not_canceled or result.failed):
        click.echo(nothing_to_do(session, platform, device_id, only_stale))
        return
    how = ("held back in cmdkeeper: no platform call" if result.held
           else "one bulk cancel" if result.bulk else "one by one")
    click.echo(f"Revoked {platform} device {device_id} ({how}):")
    report(session, platform, result)
    if result.failed:
        raise CliError(f"{len(result.failed)} command(s) could not be cancelled", EXIT_FAILED)

"""`reconcile PLATFORM (DEVICE | --all)`: re-query the platform's history and correct the store.

One device runs at operator priority; `--all` walks every device on the due indexes (each
device with an open command or a pending reconcile request: see store/readers.py) at background
priority, so a bulk run never delays revocations or operators' commands. Every history query
takes slots from the shared call budget like any process; when none is free the CLI waits for
one (up to `--budget-wait` seconds per device) instead of failing.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click

from cli.errors import EXIT_FAILED, CliError
from cli.list_commands import require_device
from cli.session import Session
from platforms.errors import PlatformError, RateLimitTimeout
from store import keys
from store.model import PLATFORMS
from store.ratelimit import Priority
from store.readers import command_states, index_devices
from workers import reconcile

#: Pause between tries while the call budget is spoken for (the limiter's own wait is short).
BUDGET_POLL_S = 1.0
#: How long one device may wait for call budget before it is reported as skipped (seconds).
DEFAULT_BUDGET_WAIT_S = 300.0


@dataclass
class Outcome:
    """What reconciling one device did: each change is (command id, before, after), a state
    being `None` for a command learned from history."""

    device_id: str
    observed: int = 0
    changes: list[tuple[str, str | None, str]] = field(default_factory=list)
    error: str | None = None


def reconcile_one(session: Session, platform: str, device_id: str, priority: Priority,
                  budget_wait_s: float, monotonic: Callable[[], float] = time.monotonic
                  ) -> Outcome:
    """Reconcile one device, waiting for call budget; platform failures become `error`."""
    gateway = session.gateway(platform)
    session.note(platform, device_id, "reconcile",
                 "" if priority is Priority.USER else "reconcile --all")
    before = command_states(session.client, platform, device_id)
    deadline = monotonic() + budget_wait_s
    while True:
        try:
            result = reconcile.reconcile_device(session.store, gateway, device_id,
                                                session.clock, priority=priority)
            break
        except RateLimitTimeout:
            if monotonic() + BUDGET_POLL_S > deadline:
                return Outcome(device_id, error=f"skipped: no {platform} call budget free "
                                                f"within {budget_wait_s:g} s")
            session.sleep(BUDGET_POLL_S)
        except PlatformError as e:
            return Outcome(device_id, error=str(e))
    if result.release:
        # a command in flight ended: the clock hands the device's next held one to a worker
        session.store.holdback.release_later(platform, device_id, session.now())
    after = command_states(session.client, platform, device_id)
    changes = [(c, before[c][0] if c in before else None, state)
               for c, (state, attempt) in after.items() if before.get(c) != (state, attempt)]
    return Outcome(device_id, result.observed, changes)


def describe(platform: str, outcome: Outcome) -> list[str]:
    name = f"{platform} {outcome.device_id}"
    if outcome.error:
        return [f"{name}: failed: {outcome.error}"]
    head = (f"{name}: {outcome.observed} command(s) in history, "
            f"{len(outcome.changes) or 'no'} correction(s)")
    lines = [head]
    for command_id, before, after in outcome.changes:
        change = f"learned, {after}" if before is None else f"{before} -> {after}"
        lines.append(f"  {command_id}  {change}")
    return lines


def known_devices(session: Session, platform: str) -> list[str]:
    return sorted(index_devices(session.client, platform, keys.DUE_RECONCILE, keys.DUE_REVOKE))


def confirm_all(session: Session, platform: str, count: int) -> None:
    if platform == "iotda":  # IoTDA's budget is per second, and a reconcile takes two lists
        rate, unit = session.config.iotda_rate_per_s, "s"
        minutes = math.ceil(2 * count / rate / 60)
    else:
        rate, unit = getattr(session.config, f"{platform}_rate_per_min"), "min"
        minutes = math.ceil(count / rate)
    click.confirm(f"Reconcile {count} {platform} device(s)? Each takes at least one call from "
                  f"the shared budget of {rate}/{unit} (at least {minutes} min, more if the "
                  "workers are busy).", abort=True)


@click.command("reconcile", short_help="Correct state from platform history (a device or --all).")
@click.argument("platform", type=click.Choice(PLATFORMS), metavar="PLATFORM")
@click.argument("device_id", required=False)
@click.option("--all", "all_devices", is_flag=True,
              help="Every device with an open command or a reconcile request.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before reconciling --all.")
@click.option("--budget-wait", "budget_wait_s", type=click.FloatRange(0, 3600),
              default=DEFAULT_BUDGET_WAIT_S, show_default=True,
              help="Seconds one device may wait for platform call budget before it is skipped.")
@click.pass_obj
def reconcile_command(session: Session, platform: str, device_id: str | None,
                      all_devices: bool, yes: bool, budget_wait_s: float) -> None:
    """Re-query the platform's command history and correct cmdkeeper's state.

    Missed callbacks are filled in and commands cmdkeeper never saw are learned; states only
    move forward. Prints each correction; exits with 1 when a device failed.

    \b
    Examples:
      python -m cmdkeeper reconcile huawei valve-1
      python -m cmdkeeper reconcile onenet --all --yes
    """
    if bool(device_id) == all_devices:
        raise click.UsageError("give either a DEVICE_ID or --all")
    if device_id:
        require_device(session, platform, device_id)
        session.gateway(platform)
        outcomes = [reconcile_one(session, platform, device_id, Priority.USER, budget_wait_s)]
    else:
        session.gateway(platform)  # an unconfigured platform fails before any question
        devices = known_devices(session, platform)
        if not devices:
            click.echo(f"No {platform} device has an open command: nothing to reconcile.")
            return
        if not yes:
            confirm_all(session, platform, len(devices))
        outcomes = []
        with click.progressbar(devices, label=f"Reconciling {len(devices)} {platform} device(s)",
                               file=sys.stderr,
                               item_show_func=lambda d: d or "") as bar:
            for device in bar:
                outcomes.append(reconcile_one(session, platform, device, Priority.BACKGROUND,
                                              budget_wait_s))
    for outcome in outcomes:
        for line in describe(platform, outcome):
            click.echo(line)
    failed = sum(1 for o in outcomes if o.error)
    corrections = sum(len(o.changes) for o in outcomes)
    if all_devices:
        click.echo(f"Reconciled {len(outcomes) - failed} of {len(outcomes)} device(s): "
                   f"{corrections} correction(s).")
    if failed:
        raise CliError(f"{failed} device(s) could not be reconciled", EXIT_FAILED)

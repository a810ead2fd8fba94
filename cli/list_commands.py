"""`commands PLATFORM DEVICE`: a device's commands as a table (or JSON), newest first."""

from __future__ import annotations

import json
from typing import Any

import click

from api.serialize import record_json
from cli.errors import EXIT_NOT_FOUND, CliError
from cli.session import Session
from cli.table import render, when
from store.model import PLATFORMS, State
from store.readers import device_known

HEADERS = ("COMMAND", "STATE", "PLATFORM STATUS", "CREATED", "UPDATED", "STALE AT", "SOURCE")


def require_device(session: Session, platform: str, device_id: str) -> None:
    """Stop with exit code 3 unless cmdkeeper has recorded a command of the device."""
    if not device_known(session.client, platform, device_id):
        raise CliError(f"unknown device: cmdkeeper has no command of {platform} device "
                       f"{device_id!r}", EXIT_NOT_FOUND)


def last_source(record: dict[str, Any]) -> str | None:
    """Who reported the command's current state: the newest timeline entry that moved it."""
    moved = [e for e in record.get("timeline", []) if e["applied"]]
    return moved[-1]["source"] if moved else None


def row(record: dict[str, Any]) -> tuple:
    state = record.get("state", "")
    if record.get("error"):
        state += " (error)"  # a permanent platform refusal is kept on the record: see --json
    return (record["command_id"], state, record.get("platform_status"),
            when(record.get("created_at")), when(record.get("updated_at")),
            when(record.get("stale_at")), last_source(record))


@click.command("commands")
@click.argument("platform", type=click.Choice(PLATFORMS), metavar="PLATFORM")
@click.argument("device_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="Show at most this many commands.")
@click.option("--state", type=click.Choice([s.value for s in State]),
              help="Only commands in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as the API shows them.")
@click.pass_obj
def list_commands(session: Session, platform: str, device_id: str, limit: int,
                  state: str | None, as_json: bool) -> None:
    """List a device's commands, newest first.

    Columns: command id, state, the platform's own status, when it was created, last changed
    and goes (went) stale, and who reported the current state (api, callback, reconcile,
    revoke). Times are UTC.

    \b
    Example:
      python -m cmdkeeper commands huawei valve-1 --limit 20 --state PENDING
    """
    require_device(session, platform, device_id)
    records = session.store.device_commands(platform, device_id,
                                            state=State(state) if state else None, limit=limit)
    if as_json:
        click.echo(json.dumps({"items": [record_json(r) for r in records]}, indent=2))
        return
    if not records:
        click.echo(f"No {state} commands for {platform} device {device_id}.")
        return
    click.echo(render(HEADERS, [row(r) for r in records]))

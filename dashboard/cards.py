"""A command as the device page draws it: its card, and the steps of its timeline.

A plain function of the record, the device's view (store/device_view.py), the policy, what
operators asked of the device (store/actions.py) and the time:
- its `paras`, compact and cut to a readable length;
- the platform's status by name (OneNET's `5/0` reads `5 delivered · 0 SUCCESS`);
- the stale and expiry lines only while the command is open (once final they say nothing);
- for a revoked command, why and who asked: as stale (its deadline had passed) or on request
  before it, by the clock's sweep or at the request of the API, the CLI or the dashboard;
- its timeline, with each request an operator made of the device while it was open drawn at
  its moment ("dashboard asked to revoke its stale commands").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from cmdkeeper.config import Config
from dashboard.timefmt import ticking, when
from dashboard.why import OPEN_STATES, why_stuck
from platforms.onenet_vocab import status_name as onenet_status_name
from store.actions import Asked
from store.device_view import DeviceView

#: Longest `paras` text shown on a card (the API has it whole).
PARAS_CHARS = 300

ASKERS = {"api": "the API", "cli": "the CLI", "dashboard": "the dashboard"}


def status_name(platform: str, status: str | None) -> str:
    if not status:
        return ""
    return onenet_status_name(status) if platform == "onenet" else status


@dataclass
class Step:
    kind: str  #: event | asked
    at_ms: int
    entry: dict[str, Any] = field(default_factory=dict)
    asked: Asked | None = None


@dataclass
class Card:
    record: dict[str, Any]
    why: Markup | None
    paras: str
    status: str
    is_open: bool
    revoked: str | None
    steps: list[Step]


def paras_text(paras: Any) -> str:
    if paras is None:
        return ""
    text = json.dumps(paras, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= PARAS_CHARS else text[:PARAS_CHARS - 1] + "…"


def revoked_line(record: dict[str, Any], now_ms: int) -> str | None:
    """Why a CANCELED command was revoked, and who asked; None for any other."""
    if record.get("state") != "CANCELED":
        return None
    cancel = next((e for e in reversed(record.get("timeline") or [])
                   if e.get("state") == "CANCELED" and e.get("applied")), None)
    if cancel is None or cancel["source"] != "revoke":
        source = cancel["source"] if cancel else "the platform"
        return (f"Cancelled on the platform, not by a revocation of cmdkeeper's (learned from "
                f"{source}): another application, or someone on the platform's console.")
    who_key = record.get("revoke_requested_by")
    who = "by the clock's sweep" if who_key == "clock" else \
        f"at the request of {ASKERS.get(who_key, who_key)}" if who_key else ""
    stale_at = record.get("stale_at")
    if stale_at and cancel["at_ms"] >= stale_at:
        why = (f"superseded by {record['replaced_by']}" if record.get("replaced_by")
               else f"as stale (still PENDING at its deadline, {when(stale_at, now_ms)})")
        return f"Revoked {why}{', ' + who if who else ''}."
    deadline = f", before its stale deadline ({when(stale_at, now_ms)})" if stale_at else ""
    return f"Revoked on request{deadline}{', ' + who if who else ''}."


def _steps(record: dict[str, Any], asked: list[Asked], now_ms: int) -> list[Step]:
    steps = [Step("event", e["at_ms"], e) for e in record.get("timeline") or []]
    start = record.get("created_at") or 0
    end = record.get("updated_at") if record.get("state") not in OPEN_STATES else now_ms
    for a in asked:
        if start <= a.at_ms <= (end or now_ms):
            at = next((i for i, s in enumerate(steps) if s.at_ms > a.at_ms), len(steps))
            steps.insert(at, Step("asked", a.at_ms, asked=a))
    return steps


def card(record: dict[str, Any], view: DeviceView, config: Config, now_ms: int,
         asked: list[Asked]) -> Card:
    why = why_stuck(record, view, config, now_ms)
    platform = record.get("platform", "")
    revoked = revoked_line(record, now_ms)
    return Card(
        record=record,
        why=ticking(why, now_ms) if why else None,
        paras=paras_text(record.get("paras")),
        status=status_name(platform, record.get("platform_status")),
        is_open=record.get("state") in OPEN_STATES,
        revoked=ticking(revoked, now_ms) if revoked else None,
        steps=_steps(record, asked, now_ms),
    )

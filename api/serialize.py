"""Records as the API shows them: ISO 8601 UTC times, every contract field present."""

from __future__ import annotations

from typing import Any

from cmdkeeper.clock import ms_to_iso
from store.model import HOLD_BACK_PLATFORMS

#: Fields every record carries in the API (docs/architecture.md, "The command record").
RECORD_FIELDS = (
    "platform", "command_id", "device_id", "service_id", "method", "paras", "state",
    "platform_status", "created_at", "updated_at", "expire_at", "stale_at", "replaces",
    "replaced_by",
)
_TIME_FIELDS = ("created_at", "updated_at", "expire_at", "stale_at")


def record_json(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: record.get(name) for name in RECORD_FIELDS}
    for name in _TIME_FIELDS:
        out[name] = ms_to_iso(record.get(name))
    out["platform_command_id"] = platform_command_id(record)
    out["attempt"] = record.get("attempt", 0)
    out["origin"] = record.get("origin")
    if record.get("error"):
        out["error"] = record["error"]
    if record.get("revoke_requested_by"):
        out["revoke_requested_by"] = record["revoke_requested_by"]
    out["timeline"] = [
        {**{k: v for k, v in entry.items() if k != "at_ms"}, "at": ms_to_iso(entry["at_ms"])}
        for entry in record.get("timeline", [])
    ]
    return out


def platform_command_id(record: dict[str, Any]) -> str | None:
    """The id the platform knows the command by: its record's own id, except where cmdkeeper
    named the record (IoTDA commands created through it), whose platform id is known once
    handed over (docs/architecture.md, "The hold-back queue")."""
    if record.get("platform_command_id"):
        return record["platform_command_id"]
    if record.get("platform") in HOLD_BACK_PLATFORMS and record.get("origin") == "api":
        return None
    return record.get("command_id")

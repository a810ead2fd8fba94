"""Records as the API shows them: ISO 8601 UTC times, every contract field present."""

from __future__ import annotations

from typing import Any

from cmdkeeper.clock import ms_to_iso

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

"""Records as the store hands them out: what applying an event did, what revocation and
reconciliation read of a device, and stored records decoded (times as epoch ms ints).

The scripts read the stored encoding (store/lua/common.lua) and hand records out as flat
field/value lists of text, as a hash's HGETALL would: `read_raw` reads any number of them in one
round trip (`read_records.lua`), the listings come from `list_device.lua`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from store.model import State, decode_timeline

_INT_FIELDS = ("attempt", "created_at", "updated_at", "expire_at", "stale_at", "released_at")


@dataclass(frozen=True)
class Applied:
    """What applying one event did."""

    #: created | moved | late | duplicate | unchanged | unknown | wait (see `apply`).
    outcome: str
    #: The command's state now; None when it has no record.
    state: State | None
    #: A PENDING command past its stale deadline moved.
    was_stale: bool = False
    #: A command the hold-back queue had handed over became final: its device may hand over
    #: the next held one (the caller sends a release job).
    release: bool = False


@dataclass(frozen=True)
class OpenCommand:
    command_id: str
    state: State
    created_ms: int | None
    origin: str


@dataclass(frozen=True)
class DeviceState:
    """What revocation and reconciliation need to know about one device."""

    open: list[OpenCommand]
    #: PENDING command id -> when it becomes (or became) stale, epoch ms.
    pending: dict[str, int]
    #: The commands it holds back (IoTDA), oldest first: PENDING, never on the platform.
    held: list[str] = field(default_factory=list)


def read_raw(scripts, cmd_keys: list[str], *,
             fields: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The records at `cmd_keys` as field -> value text (empty for a key with no record), in
    one round trip; with `fields`, only those (`''` for one a record lacks)."""
    if not cmd_keys:
        return []
    rows = scripts.read_records(cmd_keys=cmd_keys, fields=fields)
    if fields:
        return [dict(zip(fields, row, strict=True)) if row else {} for row in rows]
    return [dict(zip(row[::2], row[1::2], strict=True)) for row in rows]


def decode_listing(rows: list[list[str]]) -> list[dict[str, Any]]:
    """The records the `list_device` script returns, each a flat field/value list."""
    return [decode_record(dict(zip(row[::2], row[1::2], strict=True))) for row in rows]


def decode_record(raw: dict[str, str]) -> dict[str, Any]:
    """A stored hash as a record dict: ints for times, paras as JSON, the timeline decoded."""
    record: dict[str, Any] = dict(raw)
    for name in _INT_FIELDS:
        if record.get(name) not in (None, ""):
            record[name] = int(record[name])
    record["paras"] = json.loads(raw["paras"]) if raw.get("paras") else None
    if raw.get("error"):
        record["error"] = json.loads(raw["error"])
    record["timeline"] = decode_timeline(record.pop("tl", ""), record.get("created_at") or 0)
    return record

"""The command model (docs/architecture.md): normalised states, their ranks, sources, and the
timeline codec.

The rules themselves (forward-only, terminal is final, `(attempt, rank)` ordering) are enforced
atomically in `lua/apply_event.lua`; this module holds the vocabulary both sides share and turns
the compact stored timeline back into dictionaries for the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"

    @property
    def rank(self) -> int:
        return RANK[self]

    @property
    def terminal(self) -> bool:
        return RANK[self] == TERMINAL_RANK


TERMINAL_RANK = 4
RANK = {
    State.PENDING: 1,
    State.SENT: 2,
    State.DELIVERED: 3,
    **{State(s): TERMINAL_RANK for s in ("SUCCEEDED", "FAILED", "TIMEOUT", "EXPIRED", "CANCELED")},
}

#: One letter per state in the stored timeline (the Lua script uses the same table).
STATE_CODE = {
    State.PENDING: "P", State.SENT: "S", State.DELIVERED: "D", State.SUCCEEDED: "U",
    State.FAILED: "F", State.TIMEOUT: "T", State.EXPIRED: "E", State.CANCELED: "C",
}
CODE_STATE = {v: k for k, v in STATE_CODE.items()}
#: The code of an entry whose platform status cmdkeeper does not know: it has no state, never
#: moves one, and is decoded with `"state": None` (and `"applied": False`).
UNKNOWN_CODE = "?"

#: A platform status longer than this is cut: statuses are words, and each is kept per entry.
MAX_STATUS_CHARS = 64


class Source(StrEnum):
    API = "api"
    CALLBACK = "callback"
    RECONCILE = "reconcile"
    REVOKE = "revoke"


SOURCE_CODE = {Source.API: "a", Source.CALLBACK: "c", Source.RECONCILE: "r", Source.REVOKE: "v"}
CODE_SOURCE = {v: k for k, v in SOURCE_CODE.items()}

PLATFORMS = ("huawei", "onenet", "iotda")

#: The `platform_status` of a command cmdkeeper holds back (IoTDA: recorded PENDING, not yet
#: handed to the platform; docs/architecture.md, "The hold-back queue"). A held command that is
#: revoked keeps it: the platform never had the command.
HELD_STATUS = "HELD"
#: Platforms whose commands cmdkeeper holds back, naming their records itself (IoTDA v5 has no
#: cancel); the platform's own id is then the record's `platform_command_id`.
HOLD_BACK_PLATFORMS = frozenset({"iotda"})


@dataclass(frozen=True)
class Event:
    """One observation of a command's status, from a callback, a history query or a revocation.

    `state` is None for a status cmdkeeper's vocabulary lacks (`platform_status` holds it as
    received): it is kept in the timeline and its device reconciled, but it moves nothing.
    `at_ms` is when it happened (the platform's time when it gives one, else when we received
    it); it is fixed when the event is first seen, so a redelivered message is recognisably the
    same event.
    """

    platform: str
    device_id: str
    command_id: str
    state: State | None
    platform_status: str
    at_ms: int
    source: Source
    attempt: int = 0

    def to_message(self) -> dict:
        """Plain values only: this is what travels through the queue."""
        return {
            "platform": self.platform, "device_id": self.device_id,
            "command_id": self.command_id,
            "state": self.state.value if self.state is not None else None,
            "platform_status": self.platform_status, "at_ms": self.at_ms,
            "source": self.source.value, "attempt": self.attempt,
        }

    @classmethod
    def from_message(cls, m: dict) -> Event:
        return cls(
            platform=m["platform"], device_id=m["device_id"], command_id=m["command_id"],
            state=State(m["state"]) if m["state"] is not None else None,
            platform_status=m["platform_status"], at_ms=int(m["at_ms"]),
            source=Source(m["source"]), attempt=int(m.get("attempt", 0)),
        )


#: `Event.attempt` of a report that does not say which attempt it is about.
CURRENT_ATTEMPT = -1


def encode_timeline_entry(event: Event, attempt: str | None = None) -> str:
    """`<state><attempt>,<at_ms>,<source>,<platform_status>` — the key of the entry.

    The script appends `,1` or `,0` (whether the event moved the state) after it. With
    `attempt="{a}"` the script fills in the attempt itself. An unknown status is `?`.
    """
    attempt = str(event.attempt) if attempt is None else attempt
    code = STATE_CODE[event.state] if event.state is not None else UNKNOWN_CODE
    return (
        f"{code}{attempt},{event.at_ms},"
        f"{SOURCE_CODE[event.source]},{event.platform_status}"
    )


def decode_timeline(raw: str | None, base_ms: int = 0) -> list[dict]:
    """The stored `;`-separated timeline as dictionaries, oldest first (times in epoch ms). As
    the scripts keep it, each time is relative to `base_ms` (the record's creation time) and an
    empty platform status stands for the state's own name (store/lua/common.lua)."""
    items = []
    for entry in (raw or "").split(";"):
        if not entry:
            continue
        head, at_ms, src, platform_status, applied = entry.split(",", 4)
        state = None if head[0] == UNKNOWN_CODE else CODE_STATE[head[0]].value
        items.append({
            "state": state,
            "attempt": int(head[1:]),
            "at_ms": int(at_ms) + base_ms,
            "source": CODE_SOURCE[src].value,
            "platform_status": platform_status or state or "",
            "applied": applied == "1",
        })
    return items


def storable_status(value: object) -> str:
    """A status as received, in a form every entry can hold: a string as it is, anything else as
    its JSON text; the timeline's separators (`,` `;`) and control characters become `_`, and it
    is cut at MAX_STATUS_CHARS."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           separators=(",", ":"))
    cleaned = "".join("_" if c in ",;" or not c.isprintable() else c
                      for c in text[:MAX_STATUS_CHARS])
    return cleaned or '""'

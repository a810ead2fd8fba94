"""The change feed: one event per change of a command's normalised state, fleet-wide, in order.

The events are written by the scripts that change state (`lua/apply_event.lua`,
`lua/create_command.lua`, through `feed_append` in `lua/common.lua`) in the same atomic step as
the change itself, into one Redis Stream (`keys.EVENTS`): a change is never applied without its
event, nor the other way round. An event's id is the stream id `<ms>-<n>`: stable, and it only
increases along the feed. The API (`GET /api/v1/events`) and the outbound webhooks
(workers/notify.py) read it here.

The feed keeps events EVENTS_RETAIN_S: the clock trims it (`trim`), and remembers the newest
event it removed, so that a reader asking for events after an older id learns that they are gone
(`FeedGone`) instead of silently missing them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import redis

from cmdkeeper.clock import ms_to_iso
from store import keys
from store.script_calls import Scripts

#: What an event id looks like (a Redis stream id).
EVENT_ID = re.compile(r"\d{1,20}-\d{1,20}")
#: The event type of every feed event (and of the outbound webhooks).
EVENT_TYPE = "command.state_changed"
#: Longest a single blocking read waits, in ms: below the store client's socket timeout.
BLOCK_CHUNK_MS = 4_000


class FeedGone(Exception):
    """Raised when a reader asks for events after an id the feed no longer keeps."""

    def __init__(self, after: str, trimmed: str, oldest: str | None) -> None:
        super().__init__(f"events after {after} are gone: the feed keeps events after {trimmed}")
        self.after, self.trimmed, self.oldest = after, trimmed, oldest


@dataclass(frozen=True)
class FeedEvent:
    """One change of a command's state, as the feed holds it."""

    id: str
    n: int
    platform: str
    device_id: str
    command_id: str
    state: str
    previous_state: str | None
    platform_status: str
    source: str
    origin: str | None
    attempt: int
    at_ms: int

    @property
    def applied_ms(self) -> int:
        """When cmdkeeper applied the change (the id's time)."""
        return int(self.id.partition("-")[0])

    def to_json(self) -> dict[str, Any]:
        """The event as the API and the webhooks show it."""
        return {
            "id": self.id, "type": EVENT_TYPE, "platform": self.platform,
            "device_id": self.device_id, "command_id": self.command_id, "state": self.state,
            "previous_state": self.previous_state, "platform_status": self.platform_status,
            "source": self.source, "origin": self.origin, "attempt": self.attempt,
            "at": ms_to_iso(self.at_ms),
        }


def decode(entry_id: str, f: dict[str, str]) -> FeedEvent:
    return FeedEvent(
        id=entry_id, n=int(f["n"]), platform=f["p"], device_id=f["d"], command_id=f["c"],
        state=f["s"], previous_state=f["ps"] or None, platform_status=f["st"],
        source=f["src"], origin=f["o"] or None, attempt=int(f["a"]), at_ms=int(f["at"]))


#: Each half of a stream id is an unsigned 64-bit number.
_ID_MAX = 2**64 - 1


def valid_id(text: str) -> bool:
    """Whether `text` is an event id Redis can read (two unsigned 64-bit numbers)."""
    return bool(EVENT_ID.fullmatch(text)) and max(id_key(text)) <= _ID_MAX


def id_key(event_id: str) -> tuple[int, int]:
    """An event id as a sortable pair."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq)


def id_at(ms: int) -> str:
    """The id just before every event applied at or after `ms` (a cursor for "since")."""
    return f"{ms - 1}-18446744073709551615" if ms > 0 else "0-0"


def read(client: redis.Redis, after: str | None, limit: int) -> list[FeedEvent]:
    """Up to `limit` events after `after` (from the oldest kept without it), oldest first;
    FeedGone when `after` is older than what the feed keeps."""
    if after is not None:
        check_kept(client, after)
    start = "-" if after is None else f"({after}"
    return [decode(i, f) for i, f in client.xrange(keys.EVENTS, start, "+", count=limit)]


def check_kept(client: redis.Redis, after: str) -> None:
    trimmed = client.get(keys.EVENTS_TRIMMED)
    if trimmed and id_key(after) < id_key(trimmed):
        first = client.xrange(keys.EVENTS, "-", "+", count=1)
        raise FeedGone(after, trimmed, first[0][0] if first else None)


def wait(client: redis.Redis, after: str, timeout_ms: int) -> bool:
    """Block until an event after `after` exists or `timeout_ms` has passed (in chunks below the
    client's socket timeout); whether one exists."""
    remaining = timeout_ms
    while remaining > 0:
        chunk = min(remaining, BLOCK_CHUNK_MS)
        if client.xread({keys.EVENTS: after}, count=1, block=chunk):
            return True
        remaining -= chunk
    return False


def newest(client: redis.Redis) -> tuple[str, int]:
    """(id, n) of the newest event, ("0-0", 0) for an empty feed."""
    last = client.xrevrange(keys.EVENTS, "+", "-", count=1)
    if not last:
        return "0-0", int(client.get(keys.EVENTS_SEQ) or 0)
    entry_id, fields = last[0]
    return entry_id, int(fields["n"])


def oldest_kept(client: redis.Redis) -> str | None:
    first = client.xrange(keys.EVENTS, "-", "+", count=1)
    return first[0][0] if first else None


def trim(client: redis.Redis, scripts: Scripts, now_ms: int, retain_s: int) -> int:
    """Forget events applied more than `retain_s` ago; how many went."""
    return int(scripts.feed_trim(events=keys.EVENTS, events_trimmed=keys.EVENTS_TRIMMED,
                                 before_ms=now_ms - retain_s * 1000))


def trimmed_up_to(client: redis.Redis) -> str:
    """The id a new reader starts after when the feed holds nothing: everything up to it was
    removed (or "0-0": nothing ever was)."""
    return client.get(keys.EVENTS_TRIMMED) or "0-0"

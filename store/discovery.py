"""Finding commands and devices without knowing their ids: the dashboard's lists. Read-only.

Built on what the store keeps anyway, so nothing is written for it:
- recent commands: the change feed (`keys.EVENTS`, one event per change of state, kept
  EVENTS_RETAIN_S), read newest first; a command is listed once, at its newest event (the one
  whose state and attempt are the record's), with its record;
- stuck commands: the same feed from its oldest end: open commands whose state has not moved
  for a while and that nothing will resolve by itself soon (no answer from the device yet, a
  revocation refused, no stale deadline (learned from a callback), or stale for long);
- devices with open commands: the reconcile index (`keys.DUE_RECONCILE`), on which a device
  stays while it has an open command (or a re-check is asked);
- stale commands: the fleet's PENDING commands by stale deadline (`keys.pending_by_stale_at`);
- a search by id: the command -> device index and the devices' command sets.

Every list is a page: a bounded read (at most `SCAN` feed entries per page, `MAX_OFFSET` for
offsets), and the cursor of the next one, so a page costs the same on any fleet size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from store import keys
from store.commands import decode_record
from store.model import PLATFORMS
from store.readers import split_member
from store.records import read_raw
from store.script_calls import Scripts

#: Feed entries looked at for one page at most; a page may come back short, with its cursor.
SCAN = 2_000
#: Feed entries read per round trip.
BATCH = 250
#: Largest offset of an offset-paged list.
MAX_OFFSET = 10_000
OPEN_STATES = ("PENDING", "SENT", "DELIVERED")


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    #: Where the next page starts (a feed id or an offset); None: this was the last one.
    next: str | int | None
    #: For feed pages: the time of the last event looked at (how far back the page reached).
    reached_ms: int | None = None


Keep = Callable[[dict[str, str], dict[str, Any]], bool]


def _scan(client: redis.Redis, *, newest_first: bool, cursor: str | None, limit: int,
          wanted: Callable[[dict[str, str]], bool], keep: Keep,
          stop: Callable[[str], bool] = lambda _: False) -> Page:
    """Feed entries from `cursor` (exclusive) on, a command at its newest event only, kept when
    `wanted(entry)` and `keep(entry, record)`."""
    rows: list[dict[str, Any]] = []
    looked, reached, last_id = 0, None, cursor
    while len(rows) < limit and looked < SCAN:
        count = min(BATCH, SCAN - looked)
        if newest_first:
            batch = client.xrevrange(keys.EVENTS, f"({cursor}" if cursor else "+", "-",
                                     count=count)
        else:
            batch = client.xrange(keys.EVENTS, f"({cursor}" if cursor else "-", "+",
                                  count=count)
        if not batch:
            return Page(rows, None, reached)
        candidates = [(i, f) for i, f in batch if wanted(f)]
        found = read_raw(Scripts(client), [keys.command(f["p"], f["d"], f["c"])
                                           for _, f in candidates])
        records = dict(zip((i for i, _ in candidates), found, strict=True))
        for entry_id, f in batch:
            looked += 1
            last_id, reached = entry_id, int(entry_id.partition("-")[0])
            if stop(entry_id):
                return Page(rows, None, reached)
            raw = records.get(entry_id)
            if not raw or raw.get("state") != f["s"] or raw.get("attempt", "0") != f["a"]:
                continue  # removed, or not the command's newest event
            record = decode_record(raw)
            if keep(f, record):
                rows.append(record)
                if len(rows) == limit:
                    return Page(rows, entry_id, reached)
        cursor = last_id
        if len(batch) < count:
            return Page(rows, None, reached)
    return Page(rows, last_id, reached)


def recent(client: redis.Redis, *, platform: str | None = None, state: str | None = None,
           origin: str | None = None, before: str | None = None, limit: int = 25) -> Page:
    """Commands by their last change of state, newest first, filtered."""

    def wanted(f: dict[str, str]) -> bool:
        return ((platform is None or f["p"] == platform) and (state is None or f["s"] == state)
                and (origin is None or (f["o"] or "unknown") == origin))

    return _scan(client, newest_first=True, cursor=before, limit=limit, wanted=wanted,
                 keep=lambda f, r: True)


def stuck(client: redis.Redis, now_ms: int, quiet_ms: int, *, after: str | None = None,
          limit: int = 25) -> Page:
    """Open commands whose state has not moved for `quiet_ms`, that nothing resolves by itself
    soon, longest stuck first (each record gets `stuck_because`)."""
    cutoff = now_ms - quiet_ms

    def wanted(f: dict[str, str]) -> bool:
        return f["s"] in OPEN_STATES

    def keep(f: dict[str, str], record: dict[str, Any]) -> bool:
        if record["state"] in ("SENT", "DELIVERED"):
            record["stuck_because"] = "no answer from the device yet"
        elif record.get("error"):
            record["stuck_because"] = "its revocation was refused for good"
        elif record.get("origin") != "api" or not record.get("stale_at"):
            record["stuck_because"] = "learned from a callback or history: no stale deadline"
        elif record["stale_at"] <= cutoff:
            record["stuck_because"] = ("stale for long: the platform would not cancel it, or "
                                       "the clock is not running")
        else:
            return False  # waiting for its stale deadline, which the clock keeps
        return True

    return _scan(client, newest_first=False, cursor=after, limit=limit, wanted=wanted,
                 keep=keep, stop=lambda entry_id: int(entry_id.partition("-")[0]) > cutoff)


@dataclass(frozen=True)
class OpenDevice:
    platform: str
    device_id: str
    open_commands: int
    #: Its next history re-check (or the end of a running one's lease), epoch ms.
    reconcile_ms: int
    #: Its earliest stale deadline, when it has a PENDING command that will go stale.
    revoke_ms: int | None


def open_devices(client: redis.Redis, *, offset: int = 0, limit: int = 25) -> Page:
    """Devices with open commands (or a re-check asked), by their next re-check."""
    offset = max(0, min(offset, MAX_OFFSET))
    members = client.zrange(keys.DUE_RECONCILE, offset, offset + limit, withscores=True)
    pipe = client.pipeline(transaction=False)
    for member, _ in members[:limit]:
        platform, device_id = split_member(member)
        pipe.zcard(keys.device_quiet(platform, device_id))
        pipe.zscore(keys.device_quiet(platform, device_id), "*")
        pipe.zscore(keys.DUE_REVOKE, member)
    replies = iter(pipe.execute())
    rows = []
    for member, score in members[:limit]:
        count, request, revoke = next(replies), next(replies), next(replies)
        rows.append(OpenDevice(*split_member(member), int(count) - (request is not None),
                               int(score), int(revoke) if revoke is not None else None))
    return Page(rows, offset + limit if len(members) > limit else None)


@dataclass(frozen=True)
class StaleRow:
    platform: str
    device_id: str | None
    command_id: str
    stale_at_ms: int


def stale(client: redis.Redis, now_ms: int, *, offset: int = 0, limit: int = 25) -> Page:
    """PENDING commands past their stale deadline, the longest stale first."""
    offset = max(0, min(offset, MAX_OFFSET))
    pipe = client.pipeline(transaction=False)
    for platform in PLATFORMS:
        pipe.zrangebyscore(keys.pending_by_stale_at(platform), "-inf", now_ms, start=0,
                           num=offset + limit + 1, withscores=True)
    merged = sorted((int(score), platform, command_id)
                    for platform, rows in zip(PLATFORMS, pipe.execute(), strict=True)
                    for command_id, score in rows)
    page = merged[offset:offset + limit]
    pipe = client.pipeline(transaction=False)
    for _, platform, command_id in page:
        pipe.hget(keys.command_device_index(platform, command_id), command_id)
    devices = pipe.execute() if page else []
    rows = [StaleRow(p, d if d and not d.startswith("~") else None, c, s)
            for (s, p, c), d in zip(page, devices, strict=True)]
    return Page(rows, offset + limit if len(merged) > offset + limit else None)


@dataclass(frozen=True)
class Match:
    platform: str
    device_id: str
    #: None when the text matched a device id.
    command_id: str | None = None


def find(client: redis.Redis, text: str) -> list[Match]:
    """Commands and devices whose id is exactly `text`, on every platform."""
    text = text.strip()
    if not text or len(text) > 256:
        return []
    pipe = client.pipeline(transaction=False)
    for platform in PLATFORMS:
        pipe.hget(keys.command_device_index(platform, text), text)
        pipe.exists(keys.device_commands(platform, text))
    replies = iter(pipe.execute())
    matches = []
    for platform in PLATFORMS:
        device, is_device = next(replies), next(replies)
        if device and not device.startswith("~"):
            matches.append(Match(platform, device, text))
        if is_device:
            matches.append(Match(platform, text))
    return matches

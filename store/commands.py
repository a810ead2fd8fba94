"""The command store: records, timelines and due indexes of commands in Redis.

Writes are single Lua scripts (one round trip, atomic per event); reads return plain dicts with
times in epoch ms, which the API turns into ISO strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from store import keys
from store.locks import DeviceLocks
from store.model import Event, Source, State, decode_timeline, encode_timeline_entry
from store.script_calls import Scripts

#: Timeline entries kept per command (the first and the newest); bounds memory per command.
MAX_TIMELINE = 32

_INT_FIELDS = ("attempt", "created_at", "updated_at", "expire_at", "stale_at")


@dataclass(frozen=True)
class NewCommand:
    """A command the platform accepted, as cmdkeeper records it."""

    platform: str
    device_id: str
    command_id: str
    service_id: str
    method: str
    paras: dict[str, Any]
    created_ms: int
    stale_at_ms: int
    expire_at_ms: int | None = None
    replaces: str | None = None
    platform_status: str = "PENDING"
    extra: dict[str, str] = field(default_factory=dict)


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


#: Told of each event applied: (the event, its outcome, whether a stale PENDING command moved).
OnApplied = Callable[[Event, str, bool], None]


class CommandStore:
    """Reads and writes command state; takes an explicit Redis client (decode_responses=True).
    `on_applied` hears of every event applied (the processes count metrics with it)."""

    def __init__(self, client: redis.Redis, *, reconcile_after_s: int = 900,
                 on_applied: OnApplied | None = None) -> None:
        self.client = client
        self.on_applied = on_applied
        self.reconcile_after_ms = reconcile_after_s * 1000
        self.scripts = Scripts(client)
        self.locks = DeviceLocks(client)

    def _device_keys(self, platform: str, device_id: str, command_id: str) -> dict[str, str]:
        """The keys a write of one command touches (the apply and create scripts take them all)."""
        return {
            "cmd": keys.command(platform, device_id, command_id),
            "device_cmds": keys.device_commands(platform, device_id),
            "device_stale": keys.device_stale(platform, device_id),
            "device_quiet": keys.device_quiet(platform, device_id),
            "due_revoke": keys.DUE_REVOKE,
            "due_reconcile": keys.DUE_RECONCILE,
            "cmd_index": keys.command_device_index(platform, command_id),
            "command_states": keys.command_states(platform),
            "pending_by_creation": keys.pending_by_creation(platform),
            "pending_by_stale_at": keys.pending_by_stale_at(platform),
            "events": keys.EVENTS,
            "events_seq": keys.EVENTS_SEQ,
            "device_final": keys.device_final(platform, device_id),
            "due_retain": keys.DUE_RETAIN,
        }

    def apply_event(
        self,
        event: Event,
        now_ms: int,
        *,
        fill: dict[str, str] | None = None,
        pipe: redis.client.Pipeline | None = None,
    ) -> tuple[str, State | None] | None:
        """Apply one event; returns (created | moved | late | duplicate | unchanged | unknown, the
        command's state, None when it has no record).

        An unknown command seen in a callback asks for a reconcile of its device; one learned from
        history does not (it came from there). An event without a state (a status cmdkeeper does
        not know) is only noted on the timeline, and asks for a reconcile. `fill` sets fields the
        record lacks. With `pipe`, the script is queued on that pipeline and None is returned
        (bulk loads).
        """
        result = self.scripts.apply_event(
            **self._device_keys(event.platform, event.device_id, event.command_id),
            platform=event.platform, device_id=event.device_id, command_id=event.command_id,
            state=event.state.value if event.state is not None else "",
            entry=encode_timeline_entry(event, "{a}"),
            attempt=event.attempt, platform_status=event.platform_status, now_ms=now_ms,
            reconcile_after_ms=self.reconcile_after_ms,
            device_member=keys.device_tag(event.platform, event.device_id),
            max_timeline=MAX_TIMELINE, request_reconcile=event.source is not Source.RECONCILE,
            at_ms=event.at_ms, source=event.source.value, fill=fill or {}, client=pipe,
        )
        if pipe is not None:
            return None
        outcome, state = result[0], result[1]
        if self.on_applied is not None:
            self.on_applied(event, outcome, result[2:] == [1])
        return outcome, State(state) if state else None

    def create_command(self, new: NewCommand, *, supersede: bool = False,
                       now_ms: int | None = None, pipe: redis.client.Pipeline | None = None
                       ) -> tuple[State, list[str]] | None:
        """Record a created command; returns its state and the commands it superseded (None
        when queued on `pipe`)."""
        entry = encode_timeline_entry(Event(
            platform=new.platform, device_id=new.device_id, command_id=new.command_id,
            state=State.PENDING, platform_status=new.platform_status, at_ms=new.created_ms,
            source=Source.API,
        ))
        record = {
            "platform": new.platform, "service_id": new.service_id, "method": new.method,
            "paras": json.dumps(new.paras, separators=(",", ":")),
            "platform_status": new.platform_status,
            **({"expire_at": new.expire_at_ms} if new.expire_at_ms is not None else {}),
            **({"replaces": new.replaces} if new.replaces else {}),
            **new.extra,
        }
        result = self.scripts.create_command(
            **self._device_keys(new.platform, new.device_id, new.command_id),
            command_id=new.command_id, device_id=new.device_id, created_ms=new.created_ms,
            stale_at_ms=new.stale_at_ms, reconcile_at_ms=new.created_ms + self.reconcile_after_ms,
            device_member=keys.device_tag(new.platform, new.device_id), entry=entry,
            max_timeline=MAX_TIMELINE, supersede=supersede, service_id=new.service_id,
            method=new.method, now_ms=new.created_ms if now_ms is None else now_ms,
            cmd_prefix=keys.command(new.platform, new.device_id, ""), platform=new.platform,
            record=record,
            client=pipe,
        )
        if pipe is not None:
            return None
        state, *replaced = result
        return State(state), replaced

    def get(self, platform: str, command_id: str) -> dict[str, Any] | None:
        device_id = self.client.hget(keys.command_device_index(platform, command_id), command_id)
        if device_id is None or device_id.startswith("~"):
            return None  # never known, or removed by retention (store/retention.py)
        raw = self.client.hgetall(keys.command(platform, device_id, command_id))
        return decode_record(raw) if raw else None

    def device_commands(
        self, platform: str, device_id: str, *, state: State | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        rows = self.scripts.list_device(
            device_cmds=keys.device_commands(platform, device_id),
            cmd_prefix=keys.command(platform, device_id, ""), limit=limit,
            state=state.value if state else "",
        )
        return decode_listing(rows)

    def device_state(self, platform: str, device_id: str) -> DeviceState:
        """The device's open commands and its PENDING ones with their stale deadlines."""
        open_flat, pending_flat = self.scripts.device_state(
            device_quiet=keys.device_quiet(platform, device_id),
            device_stale=keys.device_stale(platform, device_id),
            cmd_prefix=keys.command(platform, device_id, ""),
        )
        open_commands = [
            OpenCommand(open_flat[i], State(open_flat[i + 1]),
                        int(open_flat[i + 2]) if open_flat[i + 2] else None, open_flat[i + 3])
            for i in range(0, len(open_flat), 4)
        ]
        pending = {pending_flat[i]: int(float(pending_flat[i + 1]))
                   for i in range(0, len(pending_flat), 2)}
        return DeviceState(open_commands, pending)

    def finish_reconcile(self, platform: str, device_id: str, now_ms: int) -> None:
        self.scripts.finish_reconcile(
            device_quiet=keys.device_quiet(platform, device_id),
            device_stale=keys.device_stale(platform, device_id),
            due_reconcile=keys.DUE_RECONCILE, due_revoke=keys.DUE_REVOKE,
            next_deadline_ms=now_ms + self.reconcile_after_ms,
            device_member=keys.device_tag(platform, device_id),
        )

    def refresh_due(self, platform: str, device_id: str) -> None:
        self.scripts.refresh_due(
            device_quiet=keys.device_quiet(platform, device_id),
            device_stale=keys.device_stale(platform, device_id),
            due_reconcile=keys.DUE_RECONCILE, due_revoke=keys.DUE_REVOKE,
            device_member=keys.device_tag(platform, device_id),
        )

    def park_uncancellable(self, platform: str, device_id: str, command_ids: list[str]) -> None:
        """Stop revoking commands the platform would not cancel, until a reconcile knows more."""
        if command_ids:
            self.scripts.park(device_stale=keys.device_stale(platform, device_id),
                              due_revoke=keys.DUE_REVOKE,
                              device_member=keys.device_tag(platform, device_id),
                              command_ids=command_ids)

    def request_reconcile(self, platform: str, device_id: str, at_ms: int) -> None:
        self.scripts.request_reconcile(
            device_quiet=keys.device_quiet(platform, device_id), due_reconcile=keys.DUE_RECONCILE,
            at_ms=at_ms, device_member=keys.device_tag(platform, device_id),
        )

    def record_error(self, platform: str, device_id: str, command_id: str, error: dict,
                     now_ms: int) -> None:
        """Keep a permanent platform error on the command and stop retrying it."""
        self.scripts.record_error(
            cmd=keys.command(platform, device_id, command_id),
            device_stale=keys.device_stale(platform, device_id), due_revoke=keys.DUE_REVOKE,
            command_id=command_id, error_json=json.dumps(error, separators=(",", ":")),
            now_ms=now_ms, device_member=keys.device_tag(platform, device_id),
        )

    def ping(self) -> bool:
        return bool(self.client.ping())


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
    record["timeline"] = decode_timeline(record.pop("tl", ""))
    return record

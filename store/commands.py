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
from store.direct import DirectConnections
from store.holdback import MIN_LEFT_MS, RELEASE_GRACE_MS, HoldBackQueue, expiry_check_ms
from store.locks import DeviceLocks
from store.model import HOLD_BACK_PLATFORMS, Event, Source, State, encode_timeline_entry
from store.records import (
    Applied,
    DeviceState,
    OpenCommand,
    decode_listing,
    decode_record,
    read_raw,
)
from store.script_calls import Scripts

__all__ = ["Applied", "CommandStore", "DeviceState", "NewCommand", "OpenCommand",
           "decode_listing", "decode_record"]

#: Timeline entries kept per command (the first and the newest); bounds memory per command.
MAX_TIMELINE = 32


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
    #: The platform's id, where the record is named by cmdkeeper (IoTDA: a command handed over
    #: at once on creation); empty elsewhere.
    platform_command_id: str = ""


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
        # the worker's hottest round trip, one per event: off redis-py's per-command machinery
        # (store/direct.py), which cost about a tenth of the worker's CPU per event
        self._direct = DirectConnections(client)
        self.locks = DeviceLocks(client)
        self.holdback = HoldBackQueue(client, max_timeline=MAX_TIMELINE,
                                      reconcile_after_ms=self.reconcile_after_ms)

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
            "device_held": keys.device_held(platform, device_id),
            "device_in_flight": keys.device_in_flight(platform, device_id),
            "device_platform_ids": keys.device_platform_ids(platform, device_id),
            "due_release": keys.DUE_RELEASE,
        }

    def apply_event(
        self,
        event: Event,
        now_ms: int,
        *,
        fill: dict[str, str] | None = None,
        pipe: redis.client.Pipeline | None = None,
    ) -> tuple[str, State | None] | None:
        """`apply`, as (outcome, state); with `pipe`, the script is queued on that pipeline and
        None is returned (bulk loads)."""
        if pipe is not None:
            self._apply(event, now_ms, fill, pipe)
            return None
        applied = self.apply(event, now_ms, fill=fill)
        return applied.outcome, applied.state

    def apply(self, event: Event, now_ms: int, *,
              fill: dict[str, str] | None = None) -> Applied:
        """Apply one event: created | moved | late | duplicate | unchanged | unknown | wait.

        An unknown command seen in a callback asks for a reconcile of its device; one learned from
        history does not (it came from there). An event without a state (a status cmdkeeper does
        not know) is only noted on the timeline, and asks for a reconcile. `fill` sets fields the
        record lacks. An event naming a platform's id finds the record cmdkeeper named (IoTDA);
        one naming a command cmdkeeper does not know, on such a platform, while its device is
        locked, is not applied (`wait`): a creation or release may be recording it right now.
        """
        result = self._apply(event, now_ms, fill, None)
        applied = Applied(result[0], State(result[1]) if result[1] else None,
                          len(result) > 2 and result[2] == 1,
                          len(result) > 3 and result[3] == 1)
        if self.on_applied is not None and applied.outcome != "wait":
            self.on_applied(event, applied.outcome, applied.was_stale)
        return applied

    def _apply(self, event: Event, now_ms: int, fill: dict[str, str] | None,
               pipe: redis.client.Pipeline | None) -> list[Any]:
        return self.scripts.apply_event(
            **self._device_keys(event.platform, event.device_id, event.command_id),
            device_lock=keys.device_lock(event.platform, event.device_id),
            platform=event.platform, device_id=event.device_id, command_id=event.command_id,
            state=event.state.value if event.state is not None else "",
            entry=encode_timeline_entry(event, "{a}"),
            attempt=event.attempt, platform_status=event.platform_status, now_ms=now_ms,
            reconcile_after_ms=self.reconcile_after_ms,
            device_member=keys.device_tag(event.platform, event.device_id),
            max_timeline=MAX_TIMELINE, request_reconcile=event.source is not Source.RECONCILE,
            at_ms=event.at_ms, source=event.source.value,
            cmd_prefix=keys.command(event.platform, event.device_id, ""),
            wait_if_locked=event.platform in HOLD_BACK_PLATFORMS,
            release_at_ms=now_ms + RELEASE_GRACE_MS, fill=fill or {},
            client=pipe if pipe is not None else self._direct,
        )

    def create_command(self, new: NewCommand, *, supersede: bool = False,
                       now_ms: int | None = None, pipe: redis.client.Pipeline | None = None,
                       in_flight_limit: int = 0) -> tuple[State, list[str]] | None:
        """Record a created command; returns its state and the commands it superseded (None
        when queued on `pipe`). A command the hold-back queue handed over at once carries its
        `platform_command_id` and the queue's `in_flight_limit`."""
        result = self._create(new, supersede, now_ms, pipe, in_flight_limit)
        if pipe is not None:
            return None
        state, *replaced = result
        return State(state), replaced

    def hold_unless_room(self, new: NewCommand, *, in_flight_limit: int, supersede: bool,
                         now_ms: int) -> tuple[bool, list[str]]:
        """Record `new` held back (PENDING, HELD), unless its device has room in flight and no
        held command could go before it: (held, superseded commands); (False, []) means
        nothing was recorded and the caller hands it over itself (docs/architecture.md, "The
        hold-back queue")."""
        result = self._create(new, supersede, now_ms, None, in_flight_limit)
        if result[0] == "ROOM":
            return False, []
        return True, list(result[1:])

    def _create(self, new: NewCommand, supersede: bool, now_ms: int | None,
                pipe: redis.client.Pipeline | None, in_flight_limit: int) -> list[str]:
        now = new.created_ms if now_ms is None else now_ms
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
            **({"platform_command_id": new.platform_command_id, "released_at": now}
               if new.platform_command_id else {}),
            **new.extra,
        }
        deadline = min(new.stale_at_ms, new.expire_at_ms or new.stale_at_ms)
        return self.scripts.create_command(
            **self._device_keys(new.platform, new.device_id, new.command_id),
            command_id=new.command_id, device_id=new.device_id, created_ms=new.created_ms,
            stale_at_ms=new.stale_at_ms, reconcile_at_ms=new.created_ms + self.reconcile_after_ms,
            device_member=keys.device_tag(new.platform, new.device_id), entry=entry,
            max_timeline=MAX_TIMELINE, supersede=supersede, service_id=new.service_id,
            method=new.method, now_ms=now,
            cmd_prefix=keys.command(new.platform, new.device_id, ""), platform=new.platform,
            in_flight_limit=in_flight_limit, platform_command_id=new.platform_command_id,
            min_left_ms=MIN_LEFT_MS, release_at_ms=now,
            expiry_check_ms=expiry_check_ms(deadline), record=record, client=pipe,
        )

    def get(self, platform: str, command_id: str) -> dict[str, Any] | None:
        device_id = self.client.hget(keys.command_device_index(platform, command_id), command_id)
        if device_id is None or device_id.startswith("~"):
            return None  # never known, or removed by retention (store/retention.py)
        (raw,) = read_raw(self.scripts, [keys.command(platform, device_id, command_id)])
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
        """The device's open commands, its PENDING ones with their stale deadlines, and the ones
        it holds back."""
        open_flat, pending_flat, held = self.scripts.device_state(
            device_quiet=keys.device_quiet(platform, device_id),
            device_stale=keys.device_stale(platform, device_id),
            device_held=keys.device_held(platform, device_id),
            cmd_prefix=keys.command(platform, device_id, ""),
        )
        open_commands = [
            OpenCommand(open_flat[i], State(open_flat[i + 1]),
                        int(open_flat[i + 2]) if open_flat[i + 2] else None, open_flat[i + 3])
            for i in range(0, len(open_flat), 4)
        ]
        pending = {pending_flat[i]: int(float(pending_flat[i + 1]))
                   for i in range(0, len(pending_flat), 2)}
        return DeviceState(open_commands, pending, list(held))

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

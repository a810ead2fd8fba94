"""Where accepted webhook events go: onto the worker queue, minus re-pushed duplicates."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from cmdkeeper.http import ApiError
from store import keys
from store.ingest import IngestStore, Pending
from store.model import Event

#: Device and command ids we accept: the platforms' ids are UUIDs, hex, IMEIs and
#: `product_node` pairs; braces, spaces and control characters would corrupt key names or logs.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}")


def check_id(value: object, name: str) -> str:
    """The id as a string, or a 400 naming the field."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ApiError(400, "bad_field", f"{name} must be an id of 1-128 letters, digits or _.:@-")
    return value


class EventSink:
    """Durably enqueues events for `apply_event` in one Redis round trip per request."""

    def __init__(self, ingest: IngestStore, encode: Callable[[dict], tuple[str, bytes]]) -> None:
        self.ingest = ingest
        self.encode = encode

    def submit(self, events: list[Event], awake: Sequence[tuple[str, str]] = (),
               hint_at_ms: int = 0) -> list[bool]:
        """True for each event enqueued, False for each dropped as a duplicate; devices in
        `awake` are due for a reconcile at `hint_at_ms` (one round trip for all of it)."""
        batch = []
        for e in events:
            message_id, data = self.encode(e.to_message())
            dedupe = keys.dedupe(e.platform, e.device_id, e.command_id, _dedupe_status(e))
            batch.append(Pending(dedupe, message_id, data))
        return self.ingest.submit(batch, awake, hint_at_ms)


def _dedupe_status(e: Event) -> str:
    # OneNET retries a command: the same status in a later attempt is news, not a re-push.
    return f"{e.platform_status}.{e.attempt}" if e.attempt else e.platform_status

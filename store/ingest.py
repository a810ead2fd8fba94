"""The webhook's write path: dedupe and enqueue a batch of events in one Redis round trip, on
connections of its own (store/direct.py: redis-py's per-command pool machinery cost as much CPU as
the rest of the webhook).

With the RabbitMQ broker, Redis only dedupes (`mark`); the web publishes the fresh events and
`unmark`s those RabbitMQ did not take, so that the platform's retry counts as new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

from store import keys
from store.direct import DirectConnections
from store.script_calls import Scripts


@dataclass(frozen=True)
class Pending:
    """One event ready to enqueue: what identifies it for dedupe, and its encoded message."""

    dedupe_key: str
    message_id: str
    message_data: bytes


class IngestStore:
    """Runs `ingest.lua` against dramatiq's queue keys."""

    def __init__(
        self, client: redis.Redis, *, namespace: str, queue_name: str, dedupe_ttl_s: int
    ) -> None:
        self.client = client
        self.scripts = Scripts(client)
        self.direct = DirectConnections(client)
        self.queue_messages = keys.dramatiq_queue_messages(namespace, queue_name)
        self.queue = keys.dramatiq_queue(namespace, queue_name)
        self.dedupe_ttl_s = dedupe_ttl_s

    def submit(self, batch: list[Pending], awake: Sequence[tuple[str, str]] = (),
               hint_at_ms: int = 0) -> list[bool]:
        """Enqueue each event unless already accepted; True where it was enqueued.

        Each `(platform, device_id)` in `awake` gets a reconcile at `hint_at_ms` or sooner.
        """
        if not batch and not awake:
            return []
        flags = self.scripts.ingest(
            queue_messages=self.queue_messages, queue=self.queue,
            due_reconcile=keys.DUE_RECONCILE, dedupe_keys=[p.dedupe_key for p in batch],
            device_quiets=[keys.device_quiet(platform, device) for platform, device in awake],
            dedupe_ttl_s=self.dedupe_ttl_s,
            messages=[(p.message_id, p.message_data) for p in batch], hint_at_ms=hint_at_ms,
            device_members=[keys.device_tag(platform, device) for platform, device in awake],
            client=self.direct)
        return [bool(f) for f in flags]

    def mark(self, dedupe_keys: list[str], awake: Sequence[tuple[str, str]] = (),
             hint_at_ms: int = 0) -> list[bool]:
        """Mark each event accepted unless it already was, enqueueing nothing; True where it
        is fresh (the caller then publishes it). Awake devices as in `submit`."""
        return self.submit([Pending(k, "", b"") for k in dedupe_keys], awake, hint_at_ms)

    def unmark(self, dedupe_keys: Sequence[str]) -> None:
        """Forget these marks: their events were not published, and a re-push must count."""
        if dedupe_keys:
            self.client.delete(*dedupe_keys)

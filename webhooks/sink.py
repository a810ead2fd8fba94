"""Where accepted webhook events go: onto the worker queue, minus re-pushed duplicates.

`EventSink` (the Redis broker) dedupes and enqueues in one Redis round trip. `PublishingSink`
(the RabbitMQ broker) marks the events in Redis, publishes the fresh ones to RabbitMQ with
confirms, and if RabbitMQ does not take one, deletes the marks of every event not published and
answers 503: the platform retries, nothing acknowledged is lost. An event published twice that
way is applied twice, which changes nothing (applying is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import redis
from werkzeug.exceptions import ServiceUnavailable

from cmdkeeper.config import Config
from store import keys
from store.ingest import IngestStore, Pending
from store.model import Event
from workers import broker, messages
from workers.broker import EnqueueFailed

#: Retry-After of a 503 answered because the job queue did not take an event (seconds).
QUEUE_AWAY_RETRY_AFTER_S = 5

def build_sink(config: Config, client: redis.Redis) -> EventSink | PublishingSink:
    """The sink for the configured broker (call after `broker.configure(config)`): the Redis
    broker's one-round-trip `EventSink`, or RabbitMQ's `PublishingSink`."""
    ingest = IngestStore(client, namespace=broker.NAMESPACE,
                         queue_name=messages.apply_event_queue(), dedupe_ttl_s=config.dedupe_ttl_s)
    if broker.uses_rabbitmq():
        return PublishingSink(ingest, messages.publish_apply_event)
    return EventSink(ingest, messages.encode_apply_event)


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
            batch.append(Pending(_dedupe_key(e), message_id, data))
        return self.ingest.submit(batch, awake, hint_at_ms)


class PublishingSink:
    """Dedupes in Redis (one round trip), then publishes each fresh event to the broker."""

    def __init__(self, ingest: IngestStore, publish: Callable[[dict], None]) -> None:
        self.ingest = ingest
        self.publish = publish

    def submit(self, events: list[Event], awake: Sequence[tuple[str, str]] = (),
               hint_at_ms: int = 0) -> list[bool]:
        """As `EventSink.submit`; a 503 when the broker did not take an event, and then no
        event of the batch that was not published stays marked."""
        dedupe_keys = [_dedupe_key(e) for e in events]
        fresh = self.ingest.mark(dedupe_keys, awake, hint_at_ms)
        unpublished = [k for k, new in zip(dedupe_keys, fresh, strict=True) if new]
        try:
            for e, new in zip(events, fresh, strict=True):
                if new:
                    self.publish(e.to_message())
                    unpublished.remove(_dedupe_key(e))
        except BaseException as failure:
            self.ingest.unmark(unpublished)
            if isinstance(failure, EnqueueFailed):
                raise ServiceUnavailable("the job queue is unavailable; retry shortly",
                                         retry_after=QUEUE_AWAY_RETRY_AFTER_S) from failure
            raise
        return fresh


def _dedupe_key(e: Event) -> str:
    return keys.dedupe(e.platform, e.device_id, e.command_id, _dedupe_status(e))


def _dedupe_status(e: Event) -> str:
    # OneNET retries a command: the same status in a later attempt is news, not a re-push.
    return f"{e.platform_status}.{e.attempt}" if e.attempt else e.platform_status

"""Encodes actor messages exactly as dramatiq's Redis broker would, for the webhook's own
one-round-trip ingest script (see store/lua/ingest.lua).

These messages bypass `broker.enqueue`, so middleware `before_enqueue`/`after_enqueue` hooks do
not run for them. None of dramatiq's default middleware uses those hooks; a middleware added
later that does (Prometheus counts enqueues there) will not see webhook events.
"""

from __future__ import annotations

from uuid import uuid4

from workers import actors


def encode_apply_event(event_message: dict) -> tuple[str, bytes]:
    """(redis message id, encoded message) of an `apply_event` message for this event."""
    message_id = str(uuid4())
    message = actors.apply_event.message_with_options(kwargs={"event": event_message},
                                                      redis_message_id=message_id)
    return message_id, message.encode()


def apply_event_queue() -> str:
    return actors.apply_event.queue_name

"""The webhook's `apply_event` messages, for either broker.

Redis: encoded as dramatiq's Redis broker would (from a pre-built envelope: workers/envelope.py),
for the webhook's own one-round-trip ingest script (see store/lua/ingest.lua). These messages
bypass `broker.enqueue`, so middleware `before_enqueue`/`after_enqueue` hooks do not run for
them: what a hook would add (the request id, see `CarryRequestId`) is added here. A middleware
added later that counts enqueues there (as Prometheus does) will not see webhook events.

RabbitMQ: published through `broker.enqueue` with publisher confirms, hooks and all.
"""

from __future__ import annotations

from functools import cache

from cmdkeeper import request_ids
from workers import actors, broker
from workers.envelope import Envelope, new_id


@cache
def _apply_event_envelope() -> Envelope:
    return Envelope(actors.apply_event)


def encode_apply_event(event_message: dict) -> tuple[str, bytes]:
    """(redis message id, encoded message) of an `apply_event` message for this event (written
    from a pre-built envelope: this runs on every webhook callback)."""
    message_id = new_id()
    options: dict[str, object] = {"redis_message_id": message_id}
    request_id = request_ids.current()
    if request_id is not None:
        options[broker.REQUEST_ID_OPTION] = request_id
    return message_id, _apply_event_envelope().encode({"event": event_message}, options)


def publish_apply_event(event_message: dict) -> None:
    """Put an `apply_event` message for this event on the broker's queue, confirmed;
    `broker.EnqueueFailed` when the broker did not take it."""
    broker.enqueue_confirmed(actors.apply_event.message(event=event_message))


def apply_event_queue() -> str:
    return actors.apply_event.queue_name

"""A no-op actor on its own queue, on cmdkeeper's broker: what a worker spends per message when the
actor does nothing. `bench.apply` compares `apply_event` against it.

It takes the same message as `apply_event` (one `event` dict) and has the same retry and time
limit options, so both go through the same dramatiq middleware at the same cost.
"""

from __future__ import annotations

from uuid import uuid4

import dramatiq

from workers import actors, broker

broker.current()  # bind to cmdkeeper's broker, as workers/actors.py does

#: The no-op actor's queue, next to cmdkeeper's on the same Redis.
QUEUE = "bench_noop"


@dramatiq.actor(
    queue_name=QUEUE,
    max_retries=actors.APPLY_MAX_RETRIES,
    min_backoff=actors.APPLY_MIN_BACKOFF_MS,
    max_backoff=actors.APPLY_MAX_BACKOFF_MS,
    time_limit=actors.APPLY_TIME_LIMIT_MS,
    throws=actors.MALFORMED,
)
def noop_event(event: dict) -> None:
    """Receives an `apply_event` message and does nothing with it."""


def encode_noop_event(event_message: dict) -> tuple[str, bytes]:
    """(redis message id, encoded message), as `workers.messages.encode_apply_event` does."""
    message = noop_event.message_with_options(kwargs={"event": event_message})
    message = message.copy(options={"redis_message_id": str(uuid4())})
    return message.options["redis_message_id"], message.encode()

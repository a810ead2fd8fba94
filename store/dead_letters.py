"""dramatiq's dead-letter set of a queue, as its Redis broker keeps it: read and remove.

dramatiq moves a message that failed for good (retries exhausted, or an exception the actor
`throws`) from the queue to `<ns>:<queue>.XQ` (message ids scored by when they died) and
`<ns>:<queue>.XQ.msgs` (id -> encoded message); its maintenance drops them after a week. Replaying
one is enqueueing it again through the broker, then removing it here.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from store import keys


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message: its queue, dramatiq's Redis message id, when it died (epoch
    ms), and its encoded body (None when the body is gone)."""

    queue_name: str
    id: str
    dead_at_ms: int
    data: bytes | None


def list_dead(client: redis.Redis, namespace: str, queue_name: str,
              ids: list[str] | None = None) -> list[DeadLetter]:
    """The queue's dead letters, oldest first; only `ids` (those that exist) when given."""
    index = keys.dramatiq_dead_letters(namespace, queue_name)
    if ids is None:
        rows = [(m, int(s)) for m, s in client.zrange(index, 0, -1, withscores=True)]
    else:
        pipe = client.pipeline(transaction=False)
        for message_id in ids:
            pipe.zscore(index, message_id)
        rows = [(m, int(s)) for m, s in zip(ids, pipe.execute(), strict=True) if s is not None]
    if not rows:
        return []
    bodies = client.hmget(keys.dramatiq_dead_letter_messages(namespace, queue_name),
                          [m for m, _ in rows])
    return [DeadLetter(queue_name, m, at, _as_bytes(body))
            for (m, at), body in zip(rows, bodies, strict=True)]


def remove_dead(client: redis.Redis, namespace: str, queue_name: str, ids: list[str]) -> int:
    """Take messages out of the dead-letter set (both keys at once); how many were there."""
    if not ids:
        return 0
    pipe = client.pipeline(transaction=True)
    pipe.zrem(keys.dramatiq_dead_letters(namespace, queue_name), *ids)
    pipe.hdel(keys.dramatiq_dead_letter_messages(namespace, queue_name), *ids)
    removed, _ = pipe.execute()
    return int(removed)


def _as_bytes(body: str | bytes | None) -> bytes | None:
    # store clients decode responses; dramatiq decodes messages from bytes
    return body.encode("utf-8") if isinstance(body, str) else body

"""The clock's look for subscriptions behind the feed: it sends their delivery jobs.

Several times a second the clock compares the feed's newest event with each enabled
subscription's cursor (two round trips for all of them) and sends `deliver_events` to those
behind, not being delivered to right now (their lock is free) and not waiting out a backoff.
A delivery run keeps going while events keep coming and sends itself again after a failure's
backoff, so this look is what starts a quiet subscription moving again, and what picks up after
a worker died mid-run (its lock runs out).
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from store import keys

#: How often the clock looks, in ms: an event waits about this long for its delivery to start.
CHECK_MS = 200
#: A subscription whose job was sent is sent another only once its cursor moved (the job ran)
#: or after this long (the job may still be queued, its lock not yet taken).
RESEND_GAP_MS = 2_000

Send = Callable[[str], None]


def _send_deliver(subscription_id: str) -> None:
    from workers import actors

    actors.deliver_events.send(subscription_id)


class Notifier:
    """Sends delivery jobs for the subscriptions that are behind."""

    def __init__(self, client: redis.Redis, send: Send = _send_deliver) -> None:
        self.client, self.send = client, send
        #: subscription -> (when its job was sent, its cursor then)
        self.sent: dict[str, tuple[int, int]] = {}

    def behind(self, now_ms: int) -> list[tuple[str, int]]:
        """(subscription, its cursor) of each enabled one with undelivered events, free and not
        backing off."""
        ids = self.client.zrange(keys.SUBSCRIPTIONS, 0, -1)
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        pipe.xrevrange(keys.EVENTS, "+", "-", count=1)
        for sub_id in ids:
            pipe.hmget(keys.subscription(sub_id), "enabled", "cursor_n", "next_attempt_at")
            pipe.exists(keys.subscription_lock(sub_id))
        replies = pipe.execute()
        newest = replies[0]
        if not newest:
            return []
        newest_n = int(newest[0][1]["n"])
        out = []
        for i, sub_id in enumerate(ids):
            (enabled, cursor_n, next_at), locked = replies[1 + 2 * i], replies[2 + 2 * i]
            if enabled != "1" or locked or int(cursor_n or 0) >= newest_n:
                continue
            if next_at and int(next_at) > now_ms:
                continue
            out.append((sub_id, int(cursor_n or 0)))
        return out

    def __call__(self, now_ms: int) -> int:
        """Send the jobs due; how many were sent."""
        self.sent = {s: v for s, v in self.sent.items() if v[0] > now_ms - RESEND_GAP_MS}
        sent = 0
        for sub_id, cursor_n in self.behind(now_ms):
            if sub_id in self.sent and self.sent[sub_id][1] == cursor_n:
                continue  # its job may not have run yet
            self.send(sub_id)
            self.sent[sub_id] = (now_ms, cursor_n)
            sent += 1
        return sent

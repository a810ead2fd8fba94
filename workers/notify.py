"""Delivering the change feed to one subscription: the plain function behind `deliver_events`.

Events go out one at a time, in feed order, by the one worker holding the subscription's lock,
so a subscriber never receives a command's later state before an earlier one. The cursor moves
past an event only once the subscriber answered 2xx: a worker killed mid-delivery loses nothing,
the next run sends the same event again with the same `webhook-id`. A failure (a non-2xx answer,
no answer within 10 s, no connection) stops the run and the event is tried again after an
exponential backoff with jitter; a subscription that kept failing for NOTIFY_RETRY_FOR_S, or that
answered 410 Gone, is disabled and waits for `enable`.

Head-of-line: while the oldest undelivered event fails, the events behind it wait too. That is
what keeps each command's events in order; a subscriber that refuses one event for good is
disabled after NOTIFY_RETRY_FOR_S, and `enable` (or a replay) picks up from there.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from cmdkeeper.clock import Clock
from cmdkeeper.metric_names import count_delivery
from notify import messages
from notify.client import Answer, Sender
from store import feed, keys
from store.locks import OwnedLock
from store.subscriptions import Subscription, SubscriptionStore

log = logging.getLogger(__name__)

#: Events read from the feed per step.
BATCH = 100
#: How long one run may deliver before it gives its thread back (it sends itself again).
RUN_BUDGET_S = 10.0
#: The subscription's lock, renewed before each delivery once LOCK_RENEW_MS has passed: a worker
#: killed mid-run holds the subscription this long at most. A delivery may take 13 s (connect
#: and read timeouts), so renewals are at most 18 s apart: well inside the lock's life.
LOCK_TTL_MS = 30_000
LOCK_RENEW_MS = 5_000
#: Backoff after the n-th failure in a row: BACKOFF_FIRST_MS * 2**(n-1), at most BACKOFF_MAX_MS,
#: each with up to a quarter of random jitter (so failing subscribers do not retry in step).
BACKOFF_FIRST_MS = 1_000
BACKOFF_MAX_MS = 10 * 60 * 1000


def backoff_ms(failures: int, rand: Callable[[], float] = random.random) -> int:
    """How long to wait before trying again after `failures` failures in a row."""
    base = min(BACKOFF_FIRST_MS * 2 ** max(0, failures - 1), BACKOFF_MAX_MS)
    return int(base * (1 + rand() / 4))


@dataclass(frozen=True)
class RunResult:
    """What one delivery run did, and when the subscription wants the next one."""

    delivered: int = 0
    #: More events are waiting (the run stopped for its time budget): run again at once.
    more: bool = False
    #: The run stopped on a failure: try again at this time (epoch ms).
    retry_at_ms: int | None = None
    #: The subscription is (now) disabled, gone, or another worker holds it.
    idle: bool = False


@dataclass(frozen=True)
class Deliverer:
    """What a delivery run needs: the subscriptions, the sender, the clock and the policy."""

    subscriptions: SubscriptionStore
    sender: Sender
    clock: Clock
    retry_for_s: int
    events_retain_s: int
    monotonic: Callable[[], float] = time.monotonic

    def run(self, sub_id: str, *, budget_s: float = RUN_BUDGET_S) -> RunResult:
        """Deliver what the subscription has not taken yet, in order, for up to `budget_s`."""
        sub = self.subscriptions.get(sub_id)
        if sub is None or not sub.enabled:
            return RunResult(idle=True)
        if sub.next_attempt_ms is not None and sub.next_attempt_ms > self.clock():
            return RunResult(retry_at_ms=sub.next_attempt_ms)
        client = self.subscriptions.client
        lock = OwnedLock(client, keys.subscription_lock(sub_id))
        owner = f"deliver:{random.getrandbits(64):x}"
        if not lock.acquire(owner, LOCK_TTL_MS):
            return RunResult(idle=True)
        try:
            return self._deliver(sub, lock, owner, self.monotonic() + budget_s)
        finally:
            lock.release(owner)

    def _deliver(self, sub: Subscription, lock: OwnedLock, owner: str,
                 deadline: float) -> RunResult:
        client = self.subscriptions.client
        cursor, delivered = sub.cursor, 0
        renew_at = self.monotonic() + LOCK_RENEW_MS / 1000
        while True:
            try:
                events = feed.read(client, cursor, BATCH)
            except feed.FeedGone as gone:
                # the subscriber fell behind the feed's retention: say so, and go on from the
                # oldest kept event (what was lost is named in the log and the last error)
                log.warning("subscription %s missed events the feed no longer keeps (%s)",
                            sub.id, gone)
                cursor = self._skip_to_oldest(sub, cursor, gone)
                continue
            if not events:
                return RunResult(delivered)
            # read once per batch: a rotation shows in the next batch at the latest
            signers = messages.signers(self.subscriptions.signing_secrets(sub.id, self.clock()))
            for event in events:
                if self.monotonic() > deadline:
                    return RunResult(delivered, more=True)
                if self.monotonic() > renew_at:
                    lock.extend(owner, LOCK_TTL_MS)
                    renew_at = self.monotonic() + LOCK_RENEW_MS / 1000
                if not sub.wants(event):
                    if not self.subscriptions.skipped(sub, cursor, event):
                        return RunResult(delivered, more=True)  # moved meanwhile: start over
                    cursor = event.id
                    continue
                answer = self._send(sub, event, signers)
                now = self.clock()
                if answer.delivered:
                    count_delivery(sub.id, "delivered", lag_s=(now - event.applied_ms) / 1000)
                    if not self.subscriptions.delivered(
                            sub, cursor, event, now, retain_ms=self.events_retain_s * 1000):
                        return RunResult(delivered, more=True)
                    cursor, delivered = event.id, delivered + 1
                    continue
                return self._failed(sub, event, answer, delivered, now)

    def _send(self, sub: Subscription, event: feed.FeedEvent, signers: list) -> Answer:
        data = messages.body(event)
        return self.sender.post(sub.url, data,
                                messages.headers(event.id, data, signers, self.clock()),
                                local=sub.local)

    def _failed(self, sub: Subscription, event: feed.FeedEvent, answer: Answer, delivered: int,
                now: int) -> RunResult:
        if answer.status == 410:
            count_delivery(sub.id, "gone")
            self.subscriptions.disable(sub.id, "the subscriber answered 410 Gone", now)
            log.warning("subscription %s disabled: its URL answered 410 Gone", sub.id)
            return RunResult(delivered, idle=True)
        count_delivery(sub.id, "failed")
        failures = sub.attempts + 1 if delivered == 0 else 1
        state = self.subscriptions.failed(sub.id, now, f"event {event.id}: {answer.describe()}",
                                          now + backoff_ms(failures))
        failing_for_ms = now - (state.failing_since_ms or now)
        if failing_for_ms >= self.retry_for_s * 1000:
            self.subscriptions.disable(
                sub.id, f"failing for {failing_for_ms // 1000} s straight (last: "
                        f"{answer.describe()})", now)
            log.warning("subscription %s disabled after failing for %d s", sub.id,
                        failing_for_ms // 1000)
            return RunResult(delivered, idle=True)
        log.info("subscription %s: event %s not taken (%s); next try in %d ms", sub.id, event.id,
                 answer.describe(), (state.next_attempt_ms or now) - now)
        return RunResult(delivered, retry_at_ms=state.next_attempt_ms)

    def _skip_to_oldest(self, sub: Subscription, cursor: str, gone: feed.FeedGone) -> str:
        oldest = gone.oldest or feed.newest(self.subscriptions.client)[0]
        before = feed.id_at(feed.id_key(oldest)[0])
        self.subscriptions.client.hset(keys.subscription(sub.id), mapping={
            "cursor": before, "last_error": f"missed events up to {gone.trimmed}: the feed "
                                            "no longer kept them"})
        return before

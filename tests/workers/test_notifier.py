"""The clock's look for subscriptions behind the feed (workers/notifier.py): it sends a delivery
job to each one behind, free and not backing off, and not again while one may be queued."""

from __future__ import annotations

from store import keys
from store.commands import NewCommand
from store.subscriptions import SubscriptionStore, backlog
from workers.notifier import RESEND_GAP_MS, Notifier


def create(store, command_id: str, now: int) -> None:
    store.create_command(NewCommand(
        platform="huawei", device_id="d1", command_id=command_id, service_id="Valve",
        method="SET", paras={}, created_ms=now, stale_at_ms=now + 60_000))


def test_only_subscriptions_with_work_they_can_do_now_get_a_job(store, redis_client, clock):
    subs = SubscriptionStore(redis_client)
    now = clock()
    behind, _ = subs.create("http://a", now)
    busy, _ = subs.create("http://b", now)
    waiting, _ = subs.create("http://c", now)
    off, _ = subs.create("http://d", now)
    create(store, "c1", now)
    caught_up, _ = subs.create("http://e", now)  # made after the event: nothing for it
    redis_client.set(keys.subscription_lock(busy.id), "a worker", px=10_000)
    subs.failed(waiting.id, now, "HTTP 503", now + 5_000)
    subs.disable(off.id, "test", now)
    sent: list[str] = []
    notify = Notifier(redis_client, sent.append)

    assert notify(now) == 1 and sent == [behind.id]
    assert notify(now + 100) == 0  # its job may still be queued
    assert notify(now + RESEND_GAP_MS + 1) == 1  # still behind: sent again
    assert notify(now + 5_001 + RESEND_GAP_MS) == 2 and waiting.id in sent  # backoff over
    assert backlog(redis_client) == {behind.id: 1, busy.id: 1, waiting.id: 1, off.id: 1,
                                     caught_up.id: 0}


def test_a_job_that_ran_is_followed_at_once_by_the_next(store, redis_client, clock):
    subs = SubscriptionStore(redis_client)
    now = clock()
    sub, _ = subs.create("http://a", now)
    create(store, "c1", now)
    sent: list[str] = []
    notify = Notifier(redis_client, sent.append)
    assert notify(now) == 1
    # its job ran: the cursor moved past c1, and c2 arrived meanwhile
    redis_client.hset(keys.subscription(sub.id), "cursor_n", 1)
    create(store, "c2", now + 1)

    assert notify(now + 200) == 1 and sent == [sub.id, sub.id]


def test_no_subscription_costs_one_read(redis_client, clock):
    assert Notifier(redis_client, lambda s: None)(clock()) == 0

"""Delivering the feed to one subscription (workers/notify.py) over real HTTP to a receiver that
verifies every delivery with the `standardwebhooks` library, as an application would."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from notify.client import Sender
from store.commands import NewCommand
from store.model import Event, Source, State
from store.subscriptions import SubscriptionStore
from tests.emulator.helpers import Receiver
from workers.notify import BACKOFF_FIRST_MS, Deliverer, backoff_ms

RETRY_FOR_S = 600


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def clock(clock):
    """The manual clock, at the real time: receivers check a signature's timestamp against
    theirs."""
    clock.now_ms = int(time.time() * 1000)
    return clock


@pytest.fixture
def subs(redis_client) -> SubscriptionStore:
    return SubscriptionStore(redis_client)


def deliverer(subs, clock, *, allow_insecure: bool = True) -> Deliverer:
    return Deliverer(subs, Sender(allow_insecure=allow_insecure), clock, retry_for_s=RETRY_FOR_S,
                     events_retain_s=3600)


def create(store, command_id: str, now: int, platform: str = "huawei",
           device: str = "d1") -> None:
    store.create_command(NewCommand(
        platform=platform, device_id=device, command_id=command_id, service_id="Valve",
        method="SET", paras={}, created_ms=now, stale_at_ms=now + 60_000))


def move(store, command_id: str, state: State, now: int, platform: str = "huawei",
         device: str = "d1") -> None:
    store.apply_event(Event(platform, device, command_id, state, state.value, now,
                            Source.CALLBACK), now)


def verified(post, secret: str) -> dict:
    """The delivery as the application reads it: standardwebhooks raises if it does not
    verify."""
    return Webhook(secret).verify(post.body, post.headers)


def test_each_change_arrives_signed_in_order(receiver, subs, store, clock):
    sub, secret = subs.create(receiver.url + "/hook", clock.now_ms)
    create(store, "c1", clock())
    move(store, "c1", State.SENT, clock() + 1)
    move(store, "c1", State.SUCCEEDED, clock() + 2)

    result = deliverer(subs, clock).run(sub.id)

    assert result.delivered == 3 and not result.more
    posts = receiver.wait_for(3, "/hook")
    bodies = [verified(p, secret) for p in posts]
    assert [b["data"]["state"] for b in bodies] == ["PENDING", "SENT", "SUCCEEDED"]
    assert [b["data"]["previous_state"] for b in bodies] == [None, "PENDING", "SENT"]
    assert all(b["type"] == "command.state_changed" for b in bodies)
    assert [p.headers["Webhook-Id"] for p in posts] == [b["data"]["id"] for b in bodies]
    state = subs.get(sub.id)
    assert state.delivered == 3 and state.cursor == bodies[-1]["data"]["id"]
    # each command's record knows when the subscriber took each of its events
    taken = subs.deliveries_of("huawei", "d1", ["c1"])["c1"]
    assert [(t["subscription"], t["state"]) for t in taken] == [
        (sub.id, "PENDING"), (sub.id, "SENT"), (sub.id, "SUCCEEDED")]


def test_events_before_the_subscription_are_not_sent(receiver, subs, store, clock):
    create(store, "before", clock())
    sub, _ = subs.create(receiver.url, clock())
    create(store, "after", clock() + 1)

    deliverer(subs, clock).run(sub.id)

    assert [json.loads(p.body)["data"]["command_id"] for p in receiver.posts()] == ["after"]


def test_a_failing_subscriber_gets_the_same_event_again_after_a_backoff(receiver, subs, store,
                                                                        clock):
    sub, _ = subs.create(receiver.url, clock())
    create(store, "c1", clock())
    create(store, "c2", clock() + 1)
    receiver.statuses.extend([503, 503])
    d = deliverer(subs, clock)

    first = d.run(sub.id)
    assert first.delivered == 0 and first.retry_at_ms >= clock() + BACKOFF_FIRST_MS
    assert d.run(sub.id).retry_at_ms == first.retry_at_ms  # not before its time
    clock.now_ms = first.retry_at_ms
    second = d.run(sub.id)
    assert second.retry_at_ms - clock() >= 2 * BACKOFF_FIRST_MS  # backing off further
    failing = subs.get(sub.id)
    assert failing.attempts == 2 and "HTTP 503" in failing.last_error
    clock.now_ms = second.retry_at_ms

    assert d.run(sub.id).delivered == 2

    ids = [json.loads(p.body)["data"]["command_id"] for p in receiver.posts()]
    assert ids == ["c1", "c1", "c1", "c2"]  # the same head event until taken, then in order
    webhook_ids = [p.headers["Webhook-Id"] for p in receiver.posts()]
    assert len(set(webhook_ids[:3])) == 1  # the same id on every retry
    healthy = subs.get(sub.id)
    assert healthy.failing_since_ms is None and healthy.attempts == 0


def test_a_subscriber_failing_for_the_whole_retry_period_is_disabled(receiver, subs, store,
                                                                     clock):
    sub, _ = subs.create(receiver.url, clock())
    create(store, "c1", clock())
    receiver.always = 500
    d = deliverer(subs, clock)
    start = clock()
    while (state := subs.get(sub.id)).enabled:
        result = d.run(sub.id)
        clock.now_ms = max(clock() + 1, result.retry_at_ms or 0)
        assert clock() - start < (RETRY_FOR_S + 700) * 1000, "never disabled"
    assert "failing for" in state.disabled_reason
    assert clock() - start >= RETRY_FOR_S * 1000
    assert d.run(sub.id).idle

    receiver.always = None
    assert subs.enable(sub.id)
    assert d.run(sub.id).delivered == 1  # resumes where it stopped


def test_410_disables_at_once(receiver, subs, store, clock):
    sub, _ = subs.create(receiver.url, clock())
    create(store, "c1", clock())
    receiver.statuses.append(410)

    assert deliverer(subs, clock).run(sub.id).idle
    assert not subs.get(sub.id).enabled and "410" in subs.get(sub.id).disabled_reason


def test_a_redirect_is_not_followed(receiver, subs, store, clock):
    sub, _ = subs.create(receiver.url, clock())
    create(store, "c1", clock())
    receiver.statuses.append(302)

    result = deliverer(subs, clock).run(sub.id)

    assert result.delivered == 0 and result.retry_at_ms is not None
    assert len(receiver.posts()) == 1 and "HTTP 302" in subs.get(sub.id).last_error


def test_the_guarded_sender_refuses_a_loopback_subscriber(receiver, subs, store, clock):
    # a subscription made when the name pointed elsewhere, now resolving to this machine
    sub, _ = subs.create(receiver.url, clock())
    create(store, "c1", clock())

    result = deliverer(subs, clock, allow_insecure=False).run(sub.id)

    assert result.delivered == 0 and receiver.posts() == []
    assert "loopback or private" in subs.get(sub.id).last_error


def test_a_subscription_takes_only_its_platforms(receiver, subs, store, clock):
    sub, _ = subs.create(receiver.url, clock(), platforms=["onenet"])
    create(store, "h1", clock())
    create(store, "o1", clock() + 1, platform="onenet", device="imei1")
    create(store, "h2", clock() + 2)

    deliverer(subs, clock).run(sub.id)

    assert [json.loads(p.body)["data"]["command_id"] for p in receiver.posts()] == ["o1"]
    assert subs.get(sub.id).cursor_n == 3  # past the skipped ones too


def test_replay_sends_again_what_was_delivered_since_a_time(receiver, subs, store, clock):
    sub, _ = subs.create(receiver.url, clock())
    t0 = clock()
    create(store, "c1", t0)
    create(store, "c2", t0 + 10_000)
    d = deliverer(subs, clock)
    d.run(sub.id)

    subs.replay(sub.id, t0 + 5_000)
    d.run(sub.id)

    ids = [json.loads(p.body)["data"]["command_id"] for p in receiver.posts()]
    assert ids == ["c1", "c2", "c2"]


def test_during_a_rotation_either_secret_verifies(receiver, subs, store, clock):
    sub, old = subs.create(receiver.url, clock())
    new = subs.rotate_secret(sub.id, clock())
    create(store, "c1", clock())

    deliverer(subs, clock).run(sub.id)

    (post,) = receiver.posts()
    assert len(post.headers["Webhook-Signature"].split(" ")) == 2
    assert verified(post, old)["data"]["command_id"] == verified(post, new)["data"]["command_id"]


def test_one_worker_at_a_time_per_subscription(receiver, subs, store, redis_client, clock):
    from store import keys

    sub, _ = subs.create(receiver.url, clock())
    create(store, "c1", clock())
    redis_client.set(keys.subscription_lock(sub.id), "someone-else", px=30_000)

    assert deliverer(subs, clock).run(sub.id).idle
    assert receiver.posts() == []


def test_backoff_grows_to_its_cap_with_jitter():
    assert backoff_ms(1, lambda: 0) == BACKOFF_FIRST_MS
    assert backoff_ms(3, lambda: 0) == 4 * BACKOFF_FIRST_MS
    assert backoff_ms(40, lambda: 0) == backoff_ms(60, lambda: 0) == 600_000
    assert backoff_ms(1, lambda: 0.999) < 1.25 * BACKOFF_FIRST_MS

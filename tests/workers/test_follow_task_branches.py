"""`follow_task` and `record_outcome`, branch by branch, on the real store with an in-memory
platform: a running bulk cancel looked at with no call slot, still running, done, or refused;
and what a cancel's outcome leaves behind (cancelled, parked, a reconcile asked for)."""

from __future__ import annotations

import pytest

from platforms.errors import PermanentError, RateLimitTimeout, RetryableError
from platforms.gateway import CancelOutcome
from store import keys
from store.ratelimit import Priority
from tests.workers.conftest import (
    DEVICE,
    PLATFORM,
    last_source,
    lock_holder,
    reconcile_requested_at,
    recorded,
    revocable,
    state,
)
from workers.cancel_task import CancelTask
from workers.revoke import BULK_LOCK_TTL_MS, follow_task, record_outcome, revoke_device

STALE = -60_000
SHORT_TTL_MS = 1_000


@pytest.fixture
def running(store, gateway, clock, redis_client) -> CancelTask:
    """A bulk cancel of two stale commands, still running for two more looks; its lock is
    about to lapse (a look that keeps the device renews it)."""
    stale = [recorded(store, clock, c, stale_in_ms=STALE) for c in ("c1", "c2")]
    gateway.hold(DEVICE, *stale)
    gateway.task_looks = 2
    task = revoke_device(store, gateway, DEVICE, clock).task
    assert task is not None and lock_holder(redis_client) == task.lock_owner
    redis_client.pexpire(keys.device_lock(PLATFORM, DEVICE), SHORT_TTL_MS)
    gateway.calls.clear()
    return task


def lock_ttl_ms(redis_client) -> int:
    return redis_client.pttl(keys.device_lock(PLATFORM, DEVICE))


# -- follow_task ---------------------------------------------------------------------------

def test_with_no_call_slot_it_does_not_look_and_keeps_the_device(store, gateway, clock,
                                                                redis_client, running):
    gateway.answer("follow", RateLimitTimeout(PLATFORM, 0.25))

    result = follow_task(store, gateway, running, clock, priority=Priority.BACKGROUND)

    assert not result.looked and result.task == running  # not a look: the count stays
    assert gateway.calls[0].priority is Priority.BACKGROUND and len(gateway.calls) == 1
    assert lock_holder(redis_client) == running.lock_owner
    assert lock_ttl_ms(redis_client) > SHORT_TTL_MS
    assert revocable(store) == {"c1", "c2"} and state(store, "c1") == "PENDING"


def test_a_task_still_running_is_counted_a_look_and_keeps_the_device(store, gateway, clock,
                                                                    redis_client, running):
    result = follow_task(store, gateway, running, clock)

    assert result.looked and result.bulk and result.task == running.looked()
    assert [(c.method, c.args) for c in gateway.calls] == [("follow", (running.task_id,))]
    assert lock_holder(redis_client) == running.lock_owner
    assert lock_ttl_ms(redis_client) > BULK_LOCK_TTL_MS - 5_000
    assert not result.canceled and state(store, "c1") == "PENDING"


def test_a_task_done_records_what_it_cancelled_and_frees_the_device(store, gateway, clock,
                                                                   redis_client, running):
    task = running
    for _ in range(2):
        task = follow_task(store, gateway, task, clock).task

    result = follow_task(store, gateway, task, clock)

    assert result.task is None and result.bulk and sorted(result.canceled) == ["c1", "c2"]
    assert all(state(store, c) == "CANCELED" and last_source(store, c) == "revoke"
               for c in ("c1", "c2"))
    assert lock_holder(redis_client) is None and revocable(store) == set()


def test_a_target_the_done_task_does_not_mention_is_not_cancellable(store, gateway, clock,
                                                                   redis_client, running):
    # the platform reports only c1: it had sent c2 while its callbacks were lost
    gateway.answer("follow", CancelOutcome(canceled=["c1"]))

    result = follow_task(store, gateway, running, clock)

    assert (result.canceled, result.not_canceled) == (["c1"], ["c2"])
    assert state(store, "c2") == "PENDING" and revocable(store) == set()
    assert reconcile_requested_at(redis_client) == clock()


def test_a_transient_failure_is_looked_past_at_once(store, gateway, clock, running):
    gateway.answer("follow", RetryableError(PLATFORM, "100501", "congestion", 503))

    result = follow_task(store, gateway, running, clock)

    assert len(gateway.calls) == 2 and result.looked and result.task == running.looked()


def test_a_task_refused_for_good_frees_the_device_and_asks_for_a_reconcile(
        store, gateway, clock, redis_client, running):
    gateway.answer("follow", PermanentError(PLATFORM, "task_not_found", "no cancel task"))
    clock.advance(5)

    with pytest.raises(PermanentError):
        follow_task(store, gateway, running, clock)

    assert lock_holder(redis_client) is None
    assert reconcile_requested_at(redis_client) == clock()  # history tells what it did
    assert state(store, "c1") == "PENDING"


def test_a_task_without_a_lock_owner_leaves_every_lock_alone(store, gateway, clock,
                                                             redis_client, running):
    ownerless = CancelTask(PLATFORM, DEVICE, running.task_id, None, running.targets)
    redis_client.set(keys.device_lock(PLATFORM, DEVICE), "create:other", px=SHORT_TTL_MS)
    gateway.answer("follow", CancelOutcome(task_id=running.task_id), CancelOutcome(
        canceled=["c1", "c2"]))

    still = follow_task(store, gateway, ownerless, clock)
    done = follow_task(store, gateway, still.task, clock)

    assert still.task == ownerless.looked() and sorted(done.canceled) == ["c1", "c2"]
    assert lock_holder(redis_client) == "create:other"
    assert lock_ttl_ms(redis_client) <= SHORT_TTL_MS


# -- record_outcome ------------------------------------------------------------------------

def test_an_outcome_cancels_some_and_parks_the_rest_for_a_reconcile(store, clock, redis_client):
    cancelled, sent = (recorded(store, clock, c, stale_in_ms=STALE) for c in ("c1", "c2"))
    clock.advance(1)

    result = record_outcome(store, PLATFORM, DEVICE,
                            CancelOutcome(canceled=[cancelled], not_canceled=[sent]), clock)

    assert (result.canceled, result.not_canceled) == ([cancelled], [sent])
    assert state(store, cancelled) == "CANCELED" and last_source(store, cancelled) == "revoke"
    assert state(store, sent) == "PENDING" and revocable(store) == set()
    assert reconcile_requested_at(redis_client) == clock()
    assert redis_client.zscore(keys.DUE_REVOKE, keys.device_tag(PLATFORM, DEVICE)) is None


def test_an_outcome_with_everything_cancelled_asks_for_no_reconcile(store, clock, redis_client):
    cancelled = recorded(store, clock, "c1", stale_in_ms=STALE)

    result = record_outcome(store, PLATFORM, DEVICE, CancelOutcome(canceled=[cancelled]), clock)

    assert result.canceled == [cancelled] and state(store, cancelled) == "CANCELED"
    assert reconcile_requested_at(redis_client) is None

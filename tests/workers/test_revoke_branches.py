"""`revoke_device`, branch by branch, on the real store with an in-memory platform: nothing to
do, one bulk cancel or one by one, the device lock, and each answer a platform can give."""

from __future__ import annotations

import pytest
import redis

from platforms.errors import PermanentError, RateLimitTimeout, RetryableError, ThrottledError
from platforms.gateway import CancelOutcome
from store import keys
from store.commands import CommandStore
from store.model import Event, Source, State
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
from workers.revoke import BULK_LOCK_TTL_MS, QUICK_ATTEMPTS, revoke_device

STALE, FRESH = -60_000, 60_000  # stale a minute ago; stale in a minute
NO_DEVICE = PermanentError(PLATFORM, "100418", "device not found", 400)


def methods(gateway) -> list[str]:
    return [c.method for c in gateway.calls]


# -- nothing to do ---------------------------------------------------------------------------

def test_a_device_without_pending_commands_calls_nothing(store, gateway, clock):
    result = revoke_device(store, gateway, DEVICE, clock)

    assert gateway.calls == []
    assert (result.canceled, result.not_canceled, result.failed, result.task) == ([], [], [], None)


def test_fresh_commands_are_left_and_the_due_index_points_at_the_first_to_go_stale(
        store, gateway, clock, redis_client):
    recorded(store, clock, "c-later", stale_in_ms=2 * FRESH)
    recorded(store, clock, "c-soon", stale_in_ms=FRESH)
    # a sweep's claim left its lease on the revocation index
    redis_client.zadd(keys.DUE_REVOKE, {keys.device_tag(PLATFORM, DEVICE): clock() + 999_999})

    result = revoke_device(store, gateway, DEVICE, clock)

    assert gateway.calls == [] and not result.canceled
    assert redis_client.zscore(keys.DUE_REVOKE, keys.device_tag(PLATFORM, DEVICE)) == (
        clock() + FRESH)


# -- one bulk cancel, or one by one ----------------------------------------------------------

def test_when_every_pending_command_is_stale_one_bulk_cancel_takes_them(store, gateway, clock,
                                                                       redis_client):
    stale = [recorded(store, clock, c, stale_in_ms=STALE) for c in ("c1", "c2")]
    gateway.hold(DEVICE, *stale)

    result = revoke_device(store, gateway, DEVICE, clock, priority=Priority.USER)

    assert methods(gateway) == ["cancel_all"] and gateway.calls[0].priority is Priority.USER
    assert result.bulk and sorted(result.canceled) == stale and result.task is None
    assert all(state(store, c) == "CANCELED" and last_source(store, c) == "revoke" for c in stale)
    assert lock_holder(redis_client) is None  # the bulk cancel is over: the device is free
    assert redis_client.zscore(keys.DUE_REVOKE, keys.device_tag(PLATFORM, DEVICE)) is None


def test_with_a_fresh_command_the_stale_ones_go_one_by_one(store, gateway, clock):
    stale = recorded(store, clock, "c-stale", stale_in_ms=STALE)
    fresh = recorded(store, clock, "c-fresh", stale_in_ms=FRESH)
    gateway.hold(DEVICE, stale, fresh)

    result = revoke_device(store, gateway, DEVICE, clock)

    assert [(c.method, c.args) for c in gateway.calls] == [("cancel_one", (stale,))]
    assert not result.bulk and result.canceled == [stale]
    assert state(store, stale) == "CANCELED" and state(store, fresh) == "PENDING"
    assert gateway.held(DEVICE) == [fresh]


def test_revoking_all_takes_fresh_commands_in_the_bulk_cancel_too(store, gateway, clock):
    commands = [recorded(store, clock, "c-stale", stale_in_ms=STALE),
                recorded(store, clock, "c-fresh", stale_in_ms=FRESH)]
    gateway.hold(DEVICE, *commands)

    result = revoke_device(store, gateway, DEVICE, clock, only_stale=False)

    assert methods(gateway) == ["cancel_all"]
    assert result.bulk and sorted(result.canceled) == sorted(commands)


# -- the device lock -------------------------------------------------------------------------

def test_while_a_creation_holds_the_device_the_stale_commands_go_one_by_one(
        store, gateway, clock, redis_client):
    stale = [recorded(store, clock, c, stale_in_ms=STALE) for c in ("c1", "c2")]
    gateway.hold(DEVICE, *stale)
    redis_client.set(keys.device_lock(PLATFORM, DEVICE), "create:other")

    result = revoke_device(store, gateway, DEVICE, clock)

    assert methods(gateway) == ["cancel_one", "cancel_one"]
    assert not result.bulk and sorted(result.canceled) == stale
    assert lock_holder(redis_client) == "create:other"


class ChangesBeforeTheLock(redis.Redis):
    """A Redis client on which `change` happens just before a lock is taken, as a creation (or
    a callback) finishing while the revocation asks for the device's lock."""

    def __init__(self, pool: redis.ConnectionPool, change) -> None:
        super().__init__(connection_pool=pool)
        self.change = change

    def set(self, name, value, *args, **kwargs):
        if kwargs.get("nx") and self.change is not None:
            change, self.change = self.change, None
            change()
        return super().set(name, value, *args, **kwargs)


def store_on(client: redis.Redis) -> CommandStore:
    return CommandStore(client, reconcile_after_s=900)


def test_a_command_created_just_before_the_lock_keeps_the_bulk_cancel_off(
        store, gateway, clock, redis_client):
    stale = recorded(store, clock, "c-stale", stale_in_ms=STALE)
    gateway.hold(DEVICE, stale)
    racing = store_on(ChangesBeforeTheLock(
        redis_client.connection_pool,
        lambda: recorded(store, clock, "c-new", stale_in_ms=FRESH)))

    result = revoke_device(racing, gateway, DEVICE, clock)

    # under the lock it looked again: a bulk cancel would have taken the new command too
    assert [(c.method, c.args) for c in gateway.calls] == [("cancel_one", (stale,))]
    assert result.canceled == [stale] and not result.bulk
    assert state(store, "c-new") == "PENDING" and lock_holder(redis_client) is None


def test_a_command_sent_just_before_the_lock_is_not_cancelled_at_all(store, gateway, clock,
                                                                    redis_client):
    stale = recorded(store, clock, "c-stale", stale_in_ms=STALE)
    sent = Event(PLATFORM, DEVICE, stale, State.SENT, "SENT", clock(), Source.CALLBACK)
    racing = store_on(ChangesBeforeTheLock(redis_client.connection_pool,
                                           lambda: store.apply_event(sent, clock())))

    result = revoke_device(racing, gateway, DEVICE, clock)

    assert gateway.calls == [] and not (result.canceled or result.not_canceled or result.failed)
    assert state(store, stale) == "SENT" and lock_holder(redis_client) is None


# -- what a bulk cancel answers --------------------------------------------------------------

def test_a_bulk_cancel_still_running_keeps_the_device_and_says_what_to_follow(
        store, gateway, clock, redis_client):
    stale = [recorded(store, clock, c, stale_in_ms=STALE) for c in ("c1", "c2")]
    gateway.hold(DEVICE, *stale)
    gateway.task_looks = 2

    result = revoke_device(store, gateway, DEVICE, clock)

    owner = lock_holder(redis_client)
    assert owner and owner.startswith("revoke:")
    assert result.bulk and result.task == CancelTask(PLATFORM, DEVICE, "task-1", owner,
                                                     tuple(stale), polls=0)
    assert redis_client.pttl(keys.device_lock(PLATFORM, DEVICE)) > BULK_LOCK_TTL_MS - 5_000
    assert all(state(store, c) == "PENDING" for c in stale) and not result.canceled


def test_what_a_finished_bulk_cancel_would_not_cancel_is_parked_and_reconciled(
        store, gateway, clock, redis_client):
    waiting, sent = (recorded(store, clock, c, stale_in_ms=STALE) for c in ("c-wait", "c-sent"))
    gateway.answer("cancel_all", CancelOutcome(canceled=[waiting], not_canceled=[sent]))

    result = revoke_device(store, gateway, DEVICE, clock)

    assert result.bulk and (result.canceled, result.not_canceled) == ([waiting], [sent])
    assert state(store, waiting) == "CANCELED" and state(store, sent) == "PENDING"
    assert revocable(store) == set()  # the next sweep does not ask the platform again
    assert reconcile_requested_at(redis_client) == clock()


def test_a_target_the_bulk_cancel_does_not_mention_is_not_cancellable(store, gateway, clock,
                                                                      redis_client):
    held = recorded(store, clock, "c-held", stale_in_ms=STALE)
    unseen = recorded(store, clock, "c-sent-unseen", stale_in_ms=STALE)
    gateway.hold(DEVICE, held)  # the platform sent the other while its callbacks were lost

    result = revoke_device(store, gateway, DEVICE, clock)

    assert (result.canceled, result.not_canceled) == ([held], [unseen])
    assert unseen not in revocable(store) and state(store, unseen) == "PENDING"
    assert reconcile_requested_at(redis_client) == clock()


def test_a_bulk_cancel_refused_for_good_records_the_error_on_every_target(
        store, gateway, clock, redis_client):
    stale = [recorded(store, clock, c, stale_in_ms=STALE) for c in ("c1", "c2")]
    gateway.answer("cancel_all", NO_DEVICE)

    result = revoke_device(store, gateway, DEVICE, clock)

    assert result.bulk and sorted(result.failed) == stale and not result.canceled
    assert all(store.get(PLATFORM, c)["error"]["code"] == "100418" for c in stale)
    assert revocable(store) == set() and lock_holder(redis_client) is None


def test_a_throttled_bulk_cancel_is_raised_for_the_job_to_retry_and_frees_the_device(
        store, gateway, clock, redis_client):
    stale = recorded(store, clock, "c1", stale_in_ms=STALE)
    gateway.answer("cancel_all", ThrottledError(PLATFORM, "1010009", "throttled"))

    with pytest.raises(ThrottledError):
        revoke_device(store, gateway, DEVICE, clock)

    assert methods(gateway) == ["cancel_all"]  # not retried at once: throttling means wait
    assert state(store, stale) == "PENDING" and revocable(store) == {stale}
    assert lock_holder(redis_client) is None


# -- what a cancel of one command answers ----------------------------------------------------

def test_one_by_one_each_answer_is_recorded_as_it_came(store, gateway, clock, redis_client):
    # the first to have gone stale goes first
    cancelled = recorded(store, clock, "c-cancelled", stale_in_ms=STALE - 2)
    sent = recorded(store, clock, "c-sent", stale_in_ms=STALE - 1)
    refused = recorded(store, clock, "c-refused", stale_in_ms=STALE)
    fresh = recorded(store, clock, "c-fresh", stale_in_ms=FRESH)
    gateway.answer("cancel_one", True, False, NO_DEVICE)

    result = revoke_device(store, gateway, DEVICE, clock)

    assert [c.args for c in gateway.calls] == [(cancelled,), (sent,), (refused,)]
    assert (result.canceled, result.not_canceled, result.failed) == ([cancelled], [sent],
                                                                     [refused])
    assert state(store, cancelled) == "CANCELED" and last_source(store, cancelled) == "revoke"
    assert state(store, sent) == "PENDING" and reconcile_requested_at(redis_client) == clock()
    assert store.get(PLATFORM, refused)["error"]["code"] == "100418"
    assert revocable(store) == {fresh}


def test_a_transient_failure_is_retried_at_once(store, gateway, clock):
    stale = recorded(store, clock, "c1", stale_in_ms=STALE)
    recorded(store, clock, "c-fresh", stale_in_ms=FRESH)
    gateway.answer("cancel_one", RetryableError(PLATFORM, "100501", "congestion", 503), True)

    result = revoke_device(store, gateway, DEVICE, clock)

    assert methods(gateway) == ["cancel_one", "cancel_one"] and result.canceled == [stale]


def test_a_failure_that_persists_is_raised_after_the_quick_attempts(store, gateway, clock):
    stale = recorded(store, clock, "c1", stale_in_ms=STALE)
    recorded(store, clock, "c-fresh", stale_in_ms=FRESH)
    gateway.answer("cancel_one", *[RetryableError(PLATFORM, "http_503", "down", 503)] * 5)

    with pytest.raises(RetryableError):
        revoke_device(store, gateway, DEVICE, clock)

    assert len(gateway.calls) == QUICK_ATTEMPTS and state(store, stale) == "PENDING"


@pytest.mark.parametrize("error", [ThrottledError(PLATFORM, "1010009", "throttled"),
                                   RateLimitTimeout(PLATFORM, 0.25)])
def test_throttling_and_a_full_budget_are_not_retried_at_once(store, gateway, clock, error):
    stale = recorded(store, clock, "c1", stale_in_ms=STALE)
    fresh = recorded(store, clock, "c-fresh", stale_in_ms=FRESH)
    gateway.answer("cancel_one", error)

    with pytest.raises(type(error)):
        revoke_device(store, gateway, DEVICE, clock)

    assert len(gateway.calls) == 1 and revocable(store) == {stale, fresh}
    assert state(store, stale) == "PENDING"

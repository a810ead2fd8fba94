"""The shared call budget: never more than the limit in any window; revocations go first,
creation takes at most half, background work is paced through the window (most tests here look
at one thing, and turn pacing off)."""

from __future__ import annotations

import pytest

from store.ratelimit import WINDOW_MS, NoCallSlot, Priority, RateLimiter


def limiter(redis_client, clock, per_minute=10, pace_parts=1, **kw):
    return RateLimiter(redis_client, "test", per_minute, clock=clock,
                       sleep=lambda s: clock.advance(s), pace_parts=pace_parts, **kw)


def test_the_limit_is_never_exceeded_in_a_window(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=10, reserve=0)
    granted = [rl.try_acquire() == 0 for _ in range(15)]
    assert granted.count(True) == 10
    clock.advance(WINDOW_MS / 1000)
    assert rl.try_acquire() == 0


def test_two_limiters_share_one_budget(redis_client, clock):
    a, b = limiter(redis_client, clock, reserve=0), limiter(redis_client, clock, reserve=0)
    results = [(a if i % 2 else b).try_acquire() == 0 for i in range(12)]
    assert results.count(True) == 10


def test_background_work_leaves_the_reserve_to_users_and_users_half_of_it_to_revocation(
        redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=10, reserve=4)
    assert [rl.try_acquire(Priority.BACKGROUND) == 0 for _ in range(8)].count(True) == 6
    assert [rl.try_acquire(Priority.USER) == 0 for _ in range(5)].count(True) == 2
    assert [rl.try_acquire(Priority.REVOKE) == 0 for _ in range(5)].count(True) == 2


def test_acquire_waits_for_the_oldest_slot_to_free(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=2, reserve=0)
    start = clock()
    for _ in range(3):
        rl.acquire(Priority.USER, max_wait_s=120)
    assert clock() - start >= WINDOW_MS


def test_acquire_gives_up_at_its_deadline(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=1, reserve=0)
    rl.acquire()
    with pytest.raises(NoCallSlot):
        rl.acquire(max_wait_s=5)


def test_after_throttling_everyone_waits_for_old_calls_to_age_out(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=100, reserve=0)
    other = limiter(redis_client, clock, per_minute=100, reserve=0)
    for _ in range(30):
        assert rl.try_acquire() == 0
        clock.advance(1)
    rl.learn_from_throttling()  # learns 27: the window holds 30, one a second
    start = clock()
    while (wait := other.try_acquire(Priority.USER)) > 0:
        clock.advance(wait)
    # the 4 oldest calls had to age out (34 s here), not the whole window (61 s)
    assert (clock() - start) / 1000 == pytest.approx(34, abs=1)


def test_a_throttling_answer_teaches_a_lower_limit(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=20, reserve=0)
    for _ in range(10):
        assert rl.try_acquire() == 0
    rl.learn_from_throttling()  # the platform refused the 11th: its limit is about 10, not 20
    clock.advance(WINDOW_MS / 1000)
    granted = [rl.try_acquire(Priority.USER) == 0 for _ in range(20)]
    assert granted.count(True) == 9


def test_while_a_revocation_waits_for_a_slot_nothing_else_takes_one(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=4, reserve=0)
    for _ in range(4):
        assert rl.try_acquire(Priority.USER) == 0
    wait = rl.try_acquire(Priority.REVOKE)
    assert wait > 0
    clock.advance(wait)  # the oldest call ages out: the freed slot is the revocation's
    assert rl.try_acquire(Priority.USER) > 0
    assert rl.try_acquire(Priority.BACKGROUND) > 0
    assert rl.try_acquire(Priority.REVOKE) == 0
    clock.advance(1)  # the revocation got its slot; its claim lapses
    assert rl.try_acquire(Priority.USER) == 0


def test_other_work_keeps_a_slot_for_each_command_about_to_go_stale(redis_client, clock):
    from store import keys

    rl = limiter(redis_client, clock, per_minute=10, reserve=1)
    now = clock()
    stale = keys.pending_by_stale_at("test")  # the limiter "test" budgets the platform "test"
    redis_client.zadd(stale, {f"cmd{i}": now + 500 * i for i in range(1, 5)})
    redis_client.zadd(stale, {"later": now + 10 * WINDOW_MS})
    redis_client.zadd(keys.pending_by_stale_at("other"), {"elsewhere": now})
    granted = [rl.try_acquire(Priority.USER) == 0 for _ in range(10)]
    assert granted.count(True) == 6  # 4 commands of this platform go stale within the window
    assert [rl.try_acquire(Priority.REVOKE) == 0 for _ in range(5)].count(True) == 4


def test_creating_commands_takes_at_most_half_the_budget(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=10, reserve=0)
    assert [rl.try_acquire(Priority.CREATE) == 0 for _ in range(10)].count(True) == 5
    # the other half is there for the revocations those commands may need, and other work
    assert [rl.try_acquire(Priority.USER) == 0 for _ in range(10)].count(True) == 5
    clock.advance(WINDOW_MS / 1000)
    assert rl.try_acquire(Priority.CREATE) == 0


def test_background_work_is_paced_through_the_window_and_other_work_is_not(redis_client, clock):
    rl = limiter(redis_client, clock, per_minute=40, reserve=0, pace_parts=4)
    # a burst of background work gets a quarter of the budget, then waits for a quarter window
    assert [rl.try_acquire(Priority.BACKGROUND) == 0 for _ in range(15)].count(True) == 10
    wait = rl.try_acquire(Priority.BACKGROUND)
    assert wait == pytest.approx(WINDOW_MS / 4 / 1000, abs=0.01)
    # an operator's request does not wait for its turn, and revocations may use the rest
    assert [rl.try_acquire(Priority.USER) == 0 for _ in range(5)].count(True) == 5
    assert [rl.try_acquire(Priority.REVOKE) == 0 for _ in range(40)].count(True) == 25
    clock.advance(wait)
    assert rl.try_acquire(Priority.BACKGROUND) > 0  # the window is full


def test_paced_work_never_takes_more_than_its_share_of_any_part_of_the_window(redis_client,
                                                                              clock):
    rl = limiter(redis_client, clock, per_minute=40, reserve=0, pace_parts=4)
    granted = []
    start = clock()
    while clock() - start < 3 * WINDOW_MS:
        if rl.try_acquire(Priority.BACKGROUND) == 0:
            granted.append(clock())
        clock.advance(0.1)  # a caller trying ten times a second
    quarter = WINDOW_MS / 4
    busiest = max(sum(1 for t in granted if s <= t < s + quarter) for s in granted)
    assert busiest == 10
    assert len(granted) >= 3 * 40 - 10  # the whole budget is used, only spread out

"""The shared call budget as a scheduler of three classes: never more than the limit in any
window; revocations may use it all; people keep half from background work, and creation is
capped by its own calls; background work gets what is left, paced by its own calls. (Most tests
here look at one rule and turn pacing off; tests/store/test_ratelimit_properties.py checks the
guarantees together against random mixes of arrivals.)"""

from __future__ import annotations

import pytest

from store import keys
from store.ratelimit import WINDOW_MS, NoCallSlot, Priority, RateLimiter

REVOKE, USER, CREATE, BACKGROUND = (Priority.REVOKE, Priority.USER, Priority.CREATE,
                                    Priority.BACKGROUND)


def limiter(redis_client, clock, limit=10, pace_parts=1, **kw):
    return RateLimiter(redis_client, "test", limit, clock=clock,
                       sleep=lambda s: clock.advance(s), pace_parts=pace_parts, **kw)


def taken(rl, priority, tries: int) -> int:
    return [rl.try_acquire(priority) == 0 for _ in range(tries)].count(True)


def stale_soon(redis_client, clock, count: int) -> None:
    """`count` PENDING commands of the budget's platform going stale within the window."""
    now = clock()
    redis_client.zadd(keys.pending_by_stale_at("test"),
                      {f"cmd{i}": now + 500 * (i + 1) for i in range(count)})


def test_the_limit_is_never_exceeded_in_a_window(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    assert taken(rl, REVOKE, 15) == 10
    clock.advance(WINDOW_MS / 1000)
    assert rl.try_acquire(REVOKE) == 0


def test_two_limiters_share_one_budget(redis_client, clock):
    a, b = limiter(redis_client, clock), limiter(redis_client, clock)
    results = [(a if i % 2 else b).try_acquire(USER) == 0 for i in range(12)]
    assert results.count(True) == 10


def test_background_work_never_takes_the_half_people_keep(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    assert taken(rl, BACKGROUND, 10) == 5
    # people still have their half, however much background work wanted
    assert taken(rl, CREATE, 10) == 5
    assert rl.try_acquire(REVOKE) > 0  # the window is full


def test_people_may_use_more_than_their_half_when_background_left_it(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    assert taken(rl, USER, 10) == 10
    assert rl.try_acquire(BACKGROUND) > 0


def test_once_people_used_their_half_background_may_use_the_rest(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    assert taken(rl, USER, 5) == 5
    assert taken(rl, BACKGROUND, 10) == 5


def test_creation_is_capped_by_creations_own_calls_not_by_all_calls(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    assert taken(rl, BACKGROUND, 5) == 5  # a reconcile backlog took its share
    assert taken(rl, CREATE, 10) == 5  # creation still gets its half
    clock.advance(WINDOW_MS / 1000)
    assert taken(rl, CREATE, 10) == 5  # half, whatever else ran
    assert taken(rl, USER, 10) == 5  # the other half is there for other work


def test_revocations_may_use_the_whole_budget(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    stale_soon(redis_client, clock, 10)  # other work keeps every slot for them
    assert taken(rl, USER, 3) == 0 and taken(rl, BACKGROUND, 3) == 0
    assert taken(rl, REVOKE, 12) == 10


def test_other_work_keeps_a_slot_for_each_command_about_to_go_stale(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    stale_soon(redis_client, clock, 4)
    now = clock()
    redis_client.zadd(keys.pending_by_stale_at("test"), {"later": now + 10 * WINDOW_MS})
    redis_client.zadd(keys.pending_by_stale_at("other"), {"elsewhere": now})
    assert taken(rl, USER, 10) == 6  # 4 commands of this platform go stale within the window
    assert taken(rl, REVOKE, 5) == 4


def test_acquire_waits_for_the_oldest_slot_to_free(redis_client, clock):
    rl = limiter(redis_client, clock, limit=2)
    start = clock()
    for _ in range(3):
        rl.acquire(USER, max_wait_s=120)
    assert clock() - start >= WINDOW_MS


def test_acquire_gives_up_at_its_deadline(redis_client, clock):
    rl = limiter(redis_client, clock, limit=1)
    rl.acquire(REVOKE)
    with pytest.raises(NoCallSlot):
        rl.acquire(USER, max_wait_s=5)


def test_after_throttling_everyone_waits_for_old_calls_to_age_out(redis_client, clock):
    rl = limiter(redis_client, clock, limit=100)
    other = limiter(redis_client, clock, limit=100)
    for _ in range(30):
        assert rl.try_acquire(USER) == 0
        clock.advance(1)
    rl.learn_from_throttling()  # learns 27: the window holds 30, one a second
    start = clock()
    while (wait := other.try_acquire(USER)) > 0:
        clock.advance(wait)
    # the 4 oldest calls had to age out (34 s here), not the whole window (61 s)
    assert (clock() - start) / 1000 == pytest.approx(34, abs=1)


def test_a_throttling_answer_teaches_a_lower_limit(redis_client, clock):
    rl = limiter(redis_client, clock, limit=20)
    for _ in range(10):
        assert rl.try_acquire(USER) == 0
    rl.learn_from_throttling()  # the platform refused the 11th: its limit is about 10, not 20
    clock.advance(WINDOW_MS / 1000)
    assert taken(rl, USER, 20) == 9
    assert rl.room() == 0


def test_while_a_revocation_waits_for_a_slot_nothing_else_takes_one(redis_client, clock):
    rl = limiter(redis_client, clock, limit=4)
    for _ in range(4):
        assert rl.try_acquire(USER) == 0
    wait = rl.try_acquire(REVOKE)
    assert wait > 0
    clock.advance(wait)  # the oldest call ages out: the freed slot is the revocation's
    assert rl.try_acquire(USER) > 0
    assert rl.try_acquire(BACKGROUND) > 0
    assert rl.room() == 0
    assert rl.try_acquire(REVOKE) == 0
    clock.advance(1)  # the revocation got its slot; its claim lapses
    assert rl.try_acquire(USER) == 0


def test_background_work_is_paced_by_its_own_calls(redis_client, clock):
    rl = limiter(redis_client, clock, limit=40, pace_parts=4)
    # people's recent calls do not count against background pacing
    assert taken(rl, CREATE, 12) == 12
    # a burst of background work gets a quarter of its share (40 - 20), then waits
    assert taken(rl, BACKGROUND, 15) == 5
    wait = rl.try_acquire(BACKGROUND)
    assert wait == pytest.approx(WINDOW_MS / 4 / 1000, abs=0.01)
    assert rl.room() == 0
    # an operator's request does not wait for its turn, and revocations may use the rest
    assert taken(rl, USER, 5) == 5
    assert taken(rl, REVOKE, 40) == 18
    clock.advance(wait)
    assert rl.try_acquire(BACKGROUND) > 0  # the window is full


def test_paced_background_work_drains_a_backlog_at_its_share(redis_client, clock):
    rl = limiter(redis_client, clock, limit=40, pace_parts=4)
    granted = []
    start = clock()
    while clock() - start < 3 * WINDOW_MS:
        if rl.try_acquire(BACKGROUND) == 0:
            granted.append(clock())
        clock.advance(0.1)  # a caller trying ten times a second
    quarter = WINDOW_MS / 4
    busiest = max(sum(1 for t in granted if s <= t < s + quarter) for s in granted)
    assert busiest == 5
    assert len(granted) >= 3 * 20 - 5  # its whole share (L - L/2 per window), spread out


def test_room_says_what_background_work_could_take_now(redis_client, clock):
    rl = limiter(redis_client, clock, limit=10)
    assert rl.room() == 5
    stale_soon(redis_client, clock, 2)
    assert rl.room() == 3
    taken(rl, USER, 3)  # people used 3 of their 5: background may not have those 2 either
    assert rl.room() == 3 and taken(rl, BACKGROUND, 10) == 3
    assert rl.room() == 0

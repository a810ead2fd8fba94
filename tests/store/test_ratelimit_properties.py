"""The budget's guarantees against random mixes of arrivals (hypothesis; injected clock; the real
scripts on a real Redis). Each example draws a limit, a number of commands about to go stale
(R, the slots kept for their revocations), pacing on or off, and a few hundred requests of the
four kinds at random moments; every answer is recorded and the guarantees are checked after:

- no rolling window ever holds more than the limit; creation never more than half of it;
- a revocation is refused only when the window is full;
- background work never holds more than L - P - R slots (P = floor(L/2), people's share), so
  people are never refused while background work holds slots they could have had: a refused
  operator request means revocations, the slots kept for them and people's own calls fill the
  rest; paced background work never takes more than its quarter in any quarter window;
- every refusal says so for a reason the rules give.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdkeeper.clock import ManualClock
from store import keys
from store.ratelimit import REVOKE_WAITING_GRACE_MS, Priority, RateLimiter

WINDOW_MS = 10_000
KINDS = (Priority.REVOKE, Priority.USER, Priority.CREATE, Priority.BACKGROUND)


@dataclass
class Answer:
    at: int
    kind: Priority
    took: bool
    wait_ms: int


arrivals = st.lists(st.tuples(st.integers(0, 2_500), st.sampled_from(KINDS)),
                    min_size=20, max_size=250)


def run(redis_client, limit: int, stale: int, parts: int, plan) -> list[Answer]:
    redis_client.flushdb()
    clock = ManualClock()
    rl = RateLimiter(redis_client, "prop", limit, clock=clock, window_ms=WINDOW_MS,
                     pace_parts=parts)
    pending = keys.pending_by_stale_at("prop")
    answers = []
    for gap_ms, kind in plan:
        clock.now_ms += gap_ms
        # R stays constant: the same commands, always about to go stale
        if stale:
            redis_client.zadd(pending, {f"c{i}": clock() + 1 for i in range(stale)})
        wait_s = rl.try_acquire(kind)
        answers.append(Answer(clock(), kind, wait_s == 0, int(wait_s * 1000)))
    return answers


def in_window(answers: list[Answer], t: int, *kinds: Priority) -> int:
    """Calls of `kinds` (all when none) taken in the window that ends at t (inclusive)."""
    return sum(1 for a in answers if a.took and t - WINDOW_MS < a.at <= t
               and (not kinds or a.kind in kinds))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(limit=st.integers(1, 30), stale_share=st.floats(0, 1), paced=st.booleans(),
       plan=arrivals)
def test_each_class_gets_its_guarantee_and_the_limit_holds(redis_client, limit, stale_share,
                                                          paced, plan):
    stale = int(limit * stale_share)
    parts = 4 if paced else 1
    answers = run(redis_client, limit, stale, parts, plan)
    share = limit // 2
    reserve = min(limit, stale)
    per_part = max(1, (limit - share) // parts)
    revoking_until = 0
    for i, a in enumerate(answers):
        # look at the window as it was just before this request
        before = answers[:i]
        used = in_window(before, a.at)
        people = in_window(before, a.at, Priority.USER, Priority.CREATE)
        if a.took:
            assert in_window(answers[:i + 1], a.at) <= limit
            if a.kind is Priority.CREATE:
                assert in_window(answers[:i + 1], a.at, Priority.CREATE) <= share
            if a.kind is Priority.BACKGROUND:
                assert in_window(answers[:i + 1], a.at, Priority.BACKGROUND) <= max(
                    0, limit - share - reserve)
                if paced:
                    quarter = sum(1 for b in answers[:i + 1] if b.took and b.kind is a.kind
                                  and a.at - WINDOW_MS // parts < b.at <= a.at)
                    assert quarter <= per_part
            if a.kind is not Priority.REVOKE:
                assert a.at >= revoking_until, "nothing takes a slot a revocation waits for"
            continue
        # refused: for a reason the rules give
        if a.kind is Priority.REVOKE:
            assert used == limit
            revoking_until = a.at + a.wait_ms + REVOKE_WAITING_GRACE_MS
        elif a.at < revoking_until:
            pass  # a revocation is waiting for the next slot
        elif a.kind in (Priority.USER, Priority.CREATE):
            capped = a.kind is Priority.CREATE and in_window(before, a.at,
                                                            Priority.CREATE) >= share
            assert capped or used + reserve >= limit
            # ...and not because background work holds what people could have had
            assert in_window(before, a.at, Priority.BACKGROUND) <= max(
                0, limit - share - reserve)
        else:
            quarter = sum(1 for b in before if b.took and b.kind is Priority.BACKGROUND
                          and a.at - WINDOW_MS // parts < b.at <= a.at)
            assert (used + reserve + max(0, share - people) >= limit
                    or (paced and quarter >= per_part))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(limit=st.integers(4, 30), plan=arrivals)
def test_room_is_exactly_what_background_work_could_take(redis_client, limit, plan):
    redis_client.flushdb()
    clock = ManualClock()
    rl = RateLimiter(redis_client, "prop", limit, clock=clock, window_ms=WINDOW_MS)
    for gap_ms, kind in plan:
        clock.now_ms += gap_ms
        if kind is Priority.BACKGROUND:
            room = rl.room()
            taken = 0
            while rl.try_acquire(Priority.BACKGROUND) == 0:
                taken += 1
            assert taken == room
        else:
            rl.try_acquire(kind)

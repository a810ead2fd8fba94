"""The clock hands out due reconciles by room: as many per platform as its call budget has room
for background work now, earliest deadline first; the rest keep their place and deadline."""

from __future__ import annotations

from store import keys
from store.due import claim_by_quota
from store.ratelimit import Priority, RateLimiter
from workers.clock import Leadership, sweep


def due(redis_client, members: dict[str, int]) -> None:
    redis_client.zadd(keys.DUE_RECONCILE, members)


def test_a_backlog_is_handed_out_in_deadline_order_by_each_platforms_room(redis_client, store,
                                                                          clock):
    now = clock()
    due(redis_client, {f"huawei:h{i:02d}": now - 1000 * (30 - i) for i in range(30)})
    due(redis_client, {f"onenet:o{i:02d}": now - 500 * (30 - i) for i in range(10)})
    due(redis_client, {"huawei:later": now + 60_000, "gone:x": now - 99_000})

    first = claim_by_quota(store.scripts, keys.DUE_RECONCILE, now, {"huawei": 5, "onenet": 3},
                           lease_ms=600_000)

    assert [d for p, d, _ in first if p == "huawei"] == [f"h{i:02d}" for i in range(5)]
    assert [d for p, d, _ in first if p == "onenet"] == ["o00", "o01", "o02"]
    assert [at for *_, at in first if _[0] == "huawei"] == sorted(
        at for *_, at in first if _[0] == "huawei")
    # the rest keep their deadlines, the unconfigured platform's member is left alone
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:h05") == now - 25_000
    assert redis_client.zscore(keys.DUE_RECONCILE, "gone:x") == now - 99_000
    second = claim_by_quota(store.scripts, keys.DUE_RECONCILE, now, {"huawei": 2, "onenet": 0},
                            lease_ms=600_000)
    assert [d for _, d, _ in second] == ["h05", "h06"]
    assert claim_by_quota(store.scripts, keys.DUE_RECONCILE, now, {"huawei": 0},
                          lease_ms=600_000) == []


def test_the_sweep_claims_what_the_budget_has_room_for(redis_client, store, clock):
    now = clock()
    due(redis_client, {f"huawei:h{i:02d}": now - 1000 * (50 - i) for i in range(50)})
    budget = RateLimiter(redis_client, "huawei:app", 20, clock=clock, pace_parts=1)
    for _ in range(4):
        budget.try_acquire(Priority.BACKGROUND)  # background already made 4 calls this window
    sent = []

    claimed = sweep(redis_client, store.scripts, Leadership(redis_client, "a", 3000), clock,
                    sent.append, budgets={"huawei": budget})

    # room: 20 calls, half kept for people, 4 taken: 6
    assert [d for _, d, _ in claimed.reconcile] == [f"h{i:02d}" for i in range(6)]
    assert sent == [claimed]

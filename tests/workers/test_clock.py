"""The clock: one leader at a time; due devices claimed once per lease and handed out."""

from __future__ import annotations

from store.commands import NewCommand
from workers.clock import CLAIM_LEASE_MS, Leadership, sweep

T0 = 1_700_000_000_000


def test_a_second_clock_stays_idle_until_the_first_is_gone(redis_client, store, clock):
    first = Leadership(redis_client, "clock-a", ttl_ms=3000)
    second = Leadership(redis_client, "clock-b", ttl_ms=3000)
    noop = [].append
    assert sweep(redis_client, store.scripts, first, clock, noop) is not None
    assert sweep(redis_client, store.scripts, second, clock, noop) is None
    assert sweep(redis_client, store.scripts, first, clock, noop) is not None  # renewal
    first.release()
    assert sweep(redis_client, store.scripts, second, clock, noop) is not None


def test_sweep_hands_each_due_device_out_once_per_lease(redis_client, store, clock):
    clock.now_ms = T0
    for device, stale_ms in (("d1", 1000), ("d2", 5000)):
        store.create_command(NewCommand(
            platform="huawei", device_id=device, command_id=f"c-{device}", service_id="S",
            method="M", paras={}, created_ms=T0, stale_at_ms=T0 + stale_ms))
    seen = []
    leader = Leadership(redis_client, "a", 3000)
    clock.advance(2)
    claimed = sweep(redis_client, store.scripts, leader, clock, seen.append)
    assert claimed.revoke == [("huawei", "d1", T0 + 1000)] and claimed.reconcile == []
    assert seen == [claimed]
    clock.advance(10)
    assert sweep(redis_client, store.scripts, leader, clock, seen.append).revoke == [
        ("huawei", "d2", T0 + 5000)]
    clock.advance(CLAIM_LEASE_MS / 1000)
    assert len(sweep(redis_client, store.scripts, leader, clock, seen.append).revoke) == 2


def test_upcoming_revocations_are_sent_at_their_deadline(redis_client, store, clock):
    from workers.clock import DEADLINE_SLACK_MS, Dispatcher

    clock.now_ms = T0
    store.create_command(NewCommand("huawei", "soon", "c1", "S", "M", {}, T0, T0 + 700))
    store.create_command(NewCommand("huawei", "now", "c2", "S", "M", {}, T0 - 10, T0 - 5))
    sent = []
    dispatcher = Dispatcher(lambda p, d: sent.append(d), lambda p, d: None)
    sweep(redis_client, store.scripts, Leadership(redis_client, "a", 3000), clock, dispatcher,
          lookahead_ms=1000)
    assert sent == ["now"]
    assert dispatcher.next_ms() == T0 + 700 + DEADLINE_SLACK_MS
    assert dispatcher.send_due(T0 + 699) == 0
    assert dispatcher.send_due(T0 + 700 + DEADLINE_SLACK_MS) == 1 and sent == ["now", "soon"]


def test_a_check_between_sweeps_claims_revocations_only(redis_client, store, clock):
    clock.now_ms = T0
    store.create_command(NewCommand("huawei", "stale", "c1", "S", "M", {}, T0 - 10, T0 - 5))
    store.request_reconcile("huawei", "drifting", T0 - 1)
    leader = Leadership(redis_client, "a", 3000)

    between = sweep(redis_client, store.scripts, leader, clock, [].append, reconcile=False)
    full = sweep(redis_client, store.scripts, leader, clock, [].append)

    assert between.revoke == [("huawei", "stale", T0 - 5)] and between.reconcile == []
    assert full.revoke == [] and full.reconcile == [("huawei", "drifting", T0 - 1)]


def test_a_device_claimed_again_before_its_job_ran_is_sent_once():
    from workers.clock import DEADLINE_SLACK_MS, Claimed, Dispatcher

    sent = []
    dispatcher = Dispatcher(lambda p, d: sent.append((d, now)), lambda p, d: None)
    now = T0
    dispatcher(Claimed(now, [("huawei", "d1", T0 + 300)], []))
    now = T0 + 100  # a creation re-pointed its deadline: the next check claims it again
    dispatcher(Claimed(now, [("huawei", "d1", T0 + 300)], []))
    now = T0 + 300 + DEADLINE_SLACK_MS
    assert dispatcher.send_due(now) == 1
    assert sent == [("d1", now)]


def test_a_device_sent_moments_ago_goes_again_only_after_the_gap():
    from workers.clock import REPEAT_GAP_MS, Claimed, Dispatcher

    sent = []
    dispatcher = Dispatcher(lambda p, d: sent.append(d), lambda p, d: None)
    dispatcher(Claimed(T0, [("onenet", "d2", T0 - 5)], []))
    assert sent == ["d2"]
    # claimed again 100 ms later (its job has not re-pointed the deadline yet): it waits
    dispatcher(Claimed(T0 + 100, [("onenet", "d2", T0 - 5)], []))
    assert sent == ["d2"] and dispatcher.next_ms() == T0 + REPEAT_GAP_MS
    assert dispatcher.send_due(T0 + REPEAT_GAP_MS - 1) == 0
    assert dispatcher.send_due(T0 + REPEAT_GAP_MS) == 1 and sent == ["d2", "d2"]
    # long after, a device due again goes at once
    dispatcher(Claimed(T0 + 10_000, [("onenet", "d2", T0 + 9_000)], []))
    assert sent == ["d2", "d2", "d2"]

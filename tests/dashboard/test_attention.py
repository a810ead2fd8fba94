"""The fleet page's attention list, read from the indexes only: stale commands of both platforms
longest stale first with their devices, the next revocations, and work the clock left overdue."""

from __future__ import annotations

from store import keys
from store.attention import DueDevice, StaleCommand, read_attention
from store.commands import NewCommand
from workers.clock import claim


def create(store, platform, device, command_id, now, stale_in_ms):
    store.create_command(NewCommand(platform, device, command_id, "S", "M", {}, now,
                                    now + stale_in_ms))


def test_stale_commands_of_both_platforms_longest_stale_first_with_their_devices(store, clock):
    now = clock()
    create(store, "huawei", "h1", "c-h1", now, 10_000)
    create(store, "onenet", "866000000000001", "c-o1", now, 5_000)
    create(store, "huawei", "h2", "c-h2", now, 20_000)
    create(store, "huawei", "h3", "c-fresh", now, 3_600_000)
    later = now + 30_000
    seen = read_attention(store.client, later, limit=2, overdue_ms=60_000)
    assert seen.stale == [StaleCommand("onenet", "866000000000001", "c-o1", now + 5_000),
                          StaleCommand("huawei", "h1", "c-h1", now + 10_000)]
    assert seen.next_revocations == [DueDevice("onenet", "866000000000001", now + 5_000),
                                     DueDevice("huawei", "h1", now + 10_000)]
    assert (seen.overdue_revocations, seen.overdue_reconciles) == (0, 0)


def test_a_claimed_device_is_not_overdue_and_an_unclaimed_one_is(store, clock):
    now = clock()
    create(store, "huawei", "h1", "c1", now, 1_000)
    create(store, "huawei", "h2", "c2", now, 1_000)
    store.client.zadd(keys.DUE_RECONCILE, {"huawei:h1": now - 1})  # due, as an old reconcile
    clock.advance(120)
    store.client.zadd(keys.DUE_REVOKE, {"huawei:h2": clock() + 600_000})  # as a claim leaves it
    seen = read_attention(store.client, clock(), limit=10, overdue_ms=60_000)
    assert (seen.overdue_revocations, seen.overdue_reconciles) == (1, 1)
    assert claim(store.client, store.scripts, clock()).revoke  # the clock hands h1 out
    seen = read_attention(store.client, clock(), limit=10, overdue_ms=60_000)
    assert seen.overdue_revocations == 0
    assert [s.command_id for s in seen.stale] == ["c1", "c2"]  # still PENDING, still stale


def test_nothing_stale_is_an_empty_list(store, clock):
    seen = read_attention(store.client, clock(), limit=10, overdue_ms=60_000)
    assert seen.stale == [] and seen.next_revocations == []

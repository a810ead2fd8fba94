"""Read-only views: due work without claiming it, and the devices the due indexes hold."""

from __future__ import annotations

from store import keys
from store.commands import NewCommand
from store.readers import command_states, index_devices, peek_due

T0 = 1_700_000_000_000


def test_peek_due_reads_what_a_claim_would_take_without_moving_it(redis_client, store):
    for device, stale_ms in (("d1", 1000), ("d2", 5000)):
        store.create_command(NewCommand("huawei", device, f"c-{device}", "S", "M", {}, T0,
                                        T0 + stale_ms))
    before = redis_client.zrange(keys.DUE_REVOKE, 0, -1, withscores=True)

    due = peek_due(redis_client, keys.DUE_REVOKE, T0 + 2000, limit=10)

    assert [(d.platform, d.device_id, d.deadline_ms) for d in due] == [("huawei", "d1", T0 + 1000)]
    assert redis_client.zrange(keys.DUE_REVOKE, 0, -1, withscores=True) == before


def test_index_devices_walks_both_indexes_once_per_device_of_one_platform(redis_client, store):
    for platform, device in (("huawei", "a:b"), ("huawei", "d2"), ("onenet", "8699")):
        store.create_command(NewCommand(platform, device, f"c-{device}", "S", "M", {}, T0,
                                        T0 + 1000))
    store.request_reconcile("huawei", "d3", T0)

    devices = list(index_devices(redis_client, "huawei", keys.DUE_RECONCILE, keys.DUE_REVOKE))

    assert sorted(devices) == ["a:b", "d2", "d3"]


def test_command_states(redis_client, store):
    store.create_command(NewCommand("huawei", "d1", "c1", "S", "M", {}, T0, T0 + 1000))
    assert command_states(redis_client, "huawei", "d1") == {"c1": ("PENDING", 0)}
    assert command_states(redis_client, "huawei", "nobody") == {}

"""Store support for revocation and reconciliation: supersede, device state, errors, claims."""

from __future__ import annotations

from store import keys
from store.commands import NewCommand
from store.due import claim_due
from store.model import Event, Source, State

T0 = 1_700_000_000_000


def create(store, cmd, *, created=T0, method="SET", supersede=False, stale_ms=3_600_000):
    return store.create_command(NewCommand(
        platform="huawei", device_id="d1", command_id=cmd, service_id="Valve", method=method,
        paras={}, created_ms=created, stale_at_ms=created + stale_ms),
        supersede=supersede, now_ms=created)


def test_supersede_makes_older_same_commands_stale_now(store, redis_client):
    create(store, "old1", created=T0)
    create(store, "other", created=T0 + 1, method="RESET")
    create(store, "old2", created=T0 + 2)
    state, replaced = create(store, "new", created=T0 + 10, supersede=True)
    assert state == State.PENDING and sorted(replaced) == ["old1", "old2"]
    assert store.get("huawei", "new")["replaces"] == "old2"
    assert store.get("huawei", "old1")["replaced_by"] == "new"
    assert store.get("huawei", "old1")["stale_at"] == T0 + 10
    assert store.get("huawei", "other")["stale_at"] == T0 + 1 + 3_600_000
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") == T0 + 10


def test_without_supersede_nothing_is_replaced(store):
    create(store, "old", created=T0)
    assert create(store, "new", created=T0 + 10) == (State.PENDING, [])
    assert "replaced_by" not in store.get("huawei", "old")


def test_device_state_lists_open_and_pending(store):
    create(store, "a", stale_ms=100)
    create(store, "b", created=T0 + 1, stale_ms=100)
    store.apply_event(Event("huawei", "d1", "b", State.SENT, "SENT", T0 + 5, Source.CALLBACK),
                      T0 + 5)
    create(store, "c", created=T0 + 2)
    store.apply_event(Event("huawei", "d1", "c", State.SUCCEEDED, "SUCCESSFUL", T0 + 6,
                            Source.CALLBACK), T0 + 6)
    ds = store.device_state("huawei", "d1")
    assert sorted(o.command_id for o in ds.open) == ["a", "b"]
    assert ds.pending == {"a": T0 + 100}


def test_reconcile_confirming_the_state_leaves_no_timeline_noise(store, redis_client):
    create(store, "a")
    e = Event("huawei", "d1", "a", State.PENDING, "PENDING", T0 + 5, Source.RECONCILE)
    assert store.apply_event(e, T0 + 5) == ("unchanged", State.PENDING)
    assert len(store.get("huawei", "a")["timeline"]) == 1
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + 5 + \
        store.reconcile_after_ms


def test_finish_reconcile_clears_the_request_and_pushes_deadlines(store, redis_client):
    create(store, "a")
    store.request_reconcile("huawei", "d1", T0 + 1)
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + 1
    store.finish_reconcile("huawei", "d1", T0 + 2)
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + 2 + \
        store.reconcile_after_ms


def test_request_reconcile_only_ever_moves_earlier(store, redis_client):
    store.request_reconcile("huawei", "d9", T0 + 50)
    store.request_reconcile("huawei", "d9", T0 + 90)
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d9") == T0 + 50
    store.request_reconcile("huawei", "d9", T0 + 10)
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d9") == T0 + 10


def test_record_error_keeps_it_and_stops_revocation_retries(store, redis_client):
    create(store, "a", stale_ms=10)
    store.record_error("huawei", "d1", "a", {"code": "100418", "text": "no device"}, T0 + 20)
    assert store.get("huawei", "a")["error"] == {"code": "100418", "text": "no device"}
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") is None


def test_claimed_devices_are_not_claimed_again_within_the_lease(store, redis_client):
    for d in ("d1", "d2"):
        store.create_command(NewCommand("huawei", d, f"c-{d}", "S", "M", {}, T0, T0 + 10))
    first = claim_due(redis_client, store.scripts, keys.DUE_REVOKE, T0 + 20, lease_ms=1000)
    assert sorted(first) == [("huawei", "d1", T0 + 10), ("huawei", "d2", T0 + 10)]
    assert claim_due(redis_client, store.scripts, keys.DUE_REVOKE, T0 + 500, lease_ms=1000) == []
    again = claim_due(redis_client, store.scripts, keys.DUE_REVOKE, T0 + 1021, lease_ms=1000)
    assert len(again) == 2


def test_a_lookahead_claims_what_falls_due_before_the_next_sweep(store, redis_client):
    store.create_command(NewCommand("huawei", "soon", "c-soon", "S", "M", {}, T0, T0 + 800))
    store.create_command(NewCommand("huawei", "later", "c-later", "S", "M", {}, T0, T0 + 5000))
    claimed = claim_due(redis_client, store.scripts, keys.DUE_REVOKE, T0, lease_ms=60_000,
                        lookahead_ms=1000)
    assert claimed == [("huawei", "soon", T0 + 800)]
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:soon") == T0 + 60_000


def test_a_refused_cancel_parks_the_command_until_reconcile_says_it_waits(store, redis_client):
    create(store, "a", stale_ms=10)
    store.park_uncancellable("huawei", "d1", ["a"])
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") is None
    # history says it is still waiting: revocable again, by its deadline
    e = Event("huawei", "d1", "a", State.PENDING, "PENDING", T0 + 50, Source.RECONCILE)
    assert store.apply_event(e, T0 + 50)[0] == "unchanged"
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") == T0 + 10

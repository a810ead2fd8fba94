"""The command state machine (store/lua/apply_event.lua) on a real Redis.

Given a command in some state, when an event arrives, then the state moves only forward, a
terminal state never changes, and every event lands in the timeline.
"""

from __future__ import annotations

import itertools

import pytest

from store import keys
from store.commands import MAX_TIMELINE, NewCommand
from store.model import RANK, Event, Source, State

T0 = 1_700_000_000_000
ORDERED = [State.PENDING, State.SENT, State.DELIVERED]
TERMINALS = [State.SUCCEEDED, State.FAILED, State.TIMEOUT, State.EXPIRED, State.CANCELED]


def event(state: State, at: int, *, cmd: str = "c1", attempt: int = 0,
          source: Source = Source.CALLBACK, status: str | None = None) -> Event:
    return Event("huawei", "d1", cmd, state, status or state.value, at, source, attempt)


def create(store, cmd: str = "c1", *, created: int = T0, stale_after_ms: int = 3_600_000) -> None:
    store.create_command(NewCommand(
        platform="huawei", device_id="d1", command_id=cmd, service_id="Valve",
        method="SET", paras={"state": 1}, created_ms=created, stale_at_ms=created + stale_after_ms,
    ))


@pytest.mark.parametrize("first,second", list(itertools.permutations(ORDERED + TERMINALS, 2)))
def test_every_ordered_pair_ends_in_the_higher_ranked_state(store, first, second):
    create(store)
    store.apply_event(event(first, T0 + 1), T0 + 1)
    outcome, state = store.apply_event(event(second, T0 + 2), T0 + 2)

    if first.terminal:
        expected = first
    elif second.rank > first.rank:
        expected = second
    else:
        expected = first
    assert state == expected
    assert outcome == ("moved" if expected == second and second != first else "late")
    record = store.get("huawei", "c1")
    assert record["state"] == expected.value
    assert [e["state"] for e in record["timeline"]] == ["PENDING", first.value, second.value]


def test_terminal_never_changes_even_for_another_terminal(store):
    create(store)
    store.apply_event(event(State.SUCCEEDED, T0 + 1), T0 + 1)
    outcome, state = store.apply_event(event(State.FAILED, T0 + 2), T0 + 2)
    assert (outcome, state) == ("late", State.SUCCEEDED)
    assert store.get("huawei", "c1")["timeline"][-1]["applied"] is False


def test_a_platform_duplicate_is_recorded_without_moving(store):
    create(store)
    store.apply_event(event(State.SENT, T0 + 1), T0 + 1)
    outcome, state = store.apply_event(event(State.SENT, T0 + 5), T0 + 5)
    assert (outcome, state) == ("late", State.SENT)
    timeline = store.get("huawei", "c1")["timeline"]
    assert [(e["state"], e["applied"]) for e in timeline] == [
        ("PENDING", True), ("SENT", True), ("SENT", False)]


def test_a_redelivered_message_is_applied_once(store):
    create(store)
    e = event(State.DELIVERED, T0 + 1)
    assert store.apply_event(e, T0 + 1)[0] == "moved"
    assert store.apply_event(e, T0 + 9)[0] == "duplicate"
    assert len(store.get("huawei", "c1")["timeline"]) == 2


def test_unknown_command_is_created_and_its_device_due_for_reconcile(store, redis_client):
    outcome, state = store.apply_event(event(State.DELIVERED, T0, cmd="new"), T0 + 3)
    assert (outcome, state) == ("created", State.DELIVERED)
    record = store.get("huawei", "new")
    assert record["origin"] == "unknown" and record["device_id"] == "d1"
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + 3


def test_unknown_command_learned_from_history_does_not_ask_for_another_reconcile(
        store, redis_client):
    store.apply_event(event(State.SUCCEEDED, T0, cmd="old", source=Source.RECONCILE), T0)
    assert store.get("huawei", "old")["state"] == "SUCCEEDED"
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") is None


def test_created_command_is_due_for_revocation_at_its_stale_time(store, redis_client):
    create(store, "a", stale_after_ms=1000)
    create(store, "b", stale_after_ms=500)
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") == T0 + 500
    store.apply_event(event(State.SENT, T0 + 1, cmd="b"), T0 + 1)
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") == T0 + 1000
    store.apply_event(event(State.SENT, T0 + 2, cmd="a"), T0 + 2)
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") is None


def test_news_pushes_the_reconcile_deadline_and_terminal_clears_it(store, redis_client):
    create(store)
    after = store.reconcile_after_ms
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + after
    store.apply_event(event(State.SENT, T0 + 50), T0 + 50)
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + 50 + after
    store.apply_event(event(State.SUCCEEDED, T0 + 60), T0 + 60)
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") is None


def test_onenet_retry_moves_back_to_pending_but_a_late_duplicate_cannot(store, redis_client):
    create(store, stale_after_ms=1000)
    store.apply_event(event(State.SENT, T0 + 1, status="3"), T0 + 1)
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") is None
    outcome, state = store.apply_event(event(State.PENDING, T0 + 2, attempt=1, status="1"), T0 + 2)
    assert (outcome, state) == ("moved", State.PENDING)
    # revocable again, by its original deadline
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:d1") == T0 + 1000
    outcome, state = store.apply_event(event(State.SENT, T0 + 3, status="3"), T0 + 3)
    assert (outcome, state) == ("late", State.PENDING)
    outcome, state = store.apply_event(event(State.SENT, T0 + 4, attempt=1, status="3"), T0 + 4)
    assert (outcome, state) == ("moved", State.SENT)
    assert store.get("huawei", "c1")["attempt"] == 1


def test_create_after_a_racing_callback_keeps_the_callbacks_state(store):
    store.apply_event(event(State.SENT, T0 + 5), T0 + 5)
    assert store.create_command(NewCommand(
        platform="huawei", device_id="d1", command_id="c1", service_id="Valve", method="SET",
        paras={}, created_ms=T0, stale_at_ms=T0 + 1000)) == (State.SENT, [])
    record = store.get("huawei", "c1")
    assert record["state"] == "SENT" and record["service_id"] == "Valve"
    assert record["origin"] == "api"
    assert {(e["state"], e["applied"]) for e in record["timeline"]} == {
        ("SENT", True), ("PENDING", False)}


def test_timeline_is_capped_keeping_the_first_and_newest_entries(store):
    create(store)
    for i in range(MAX_TIMELINE + 10):
        store.apply_event(event(State.SENT, T0 + 10 + i), T0 + 10 + i)
    timeline = store.get("huawei", "c1")["timeline"]
    assert len(timeline) == MAX_TIMELINE
    assert timeline[0]["state"] == "PENDING"
    assert timeline[-1]["at_ms"] == T0 + 10 + MAX_TIMELINE + 9


def test_ranks_order_states_as_designed():
    assert RANK[State.PENDING] < RANK[State.SENT] < RANK[State.DELIVERED]
    assert all(RANK[t] > RANK[State.DELIVERED] for t in TERMINALS)


def test_device_listing_filters_by_state_newest_first(store):
    create(store, "a", created=T0)
    create(store, "b", created=T0 + 1)
    create(store, "c", created=T0 + 2)
    store.apply_event(event(State.SENT, T0 + 3, cmd="b"), T0 + 3)
    assert [r["command_id"] for r in store.device_commands("huawei", "d1")] == ["c", "b", "a"]
    pending = store.device_commands("huawei", "d1", state=State.PENDING)
    assert [r["command_id"] for r in pending] == ["c", "a"]
    assert len(store.device_commands("huawei", "d1", limit=1)) == 1


def test_a_report_without_attempt_applies_to_the_current_attempt(store):
    from store.model import CURRENT_ATTEMPT

    create(store)
    store.apply_event(event(State.PENDING, T0 + 1, attempt=2, status="1"), T0 + 1)
    outcome, state = store.apply_event(
        event(State.SUCCEEDED, T0 + 2, attempt=CURRENT_ATTEMPT, status="5/0"), T0 + 2)
    assert (outcome, state) == ("moved", State.SUCCEEDED)
    assert store.get("huawei", "c1")["timeline"][-1]["attempt"] == 2

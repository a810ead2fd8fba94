"""A status cmdkeeper's vocabulary lacks (store/lua/apply_event.lua, an event whose state is
None): it is kept in the timeline as not applied with the platform's word, never moves a state,
asks for a reconcile of its device, and decodes with `"state": None`."""

from __future__ import annotations

import pytest

from store import keys
from store.commands import NewCommand
from store.model import Event, Source, State, decode_timeline, storable_status

T0 = 1_700_000_000_000
HOUR_MS = 3_600_000


def event(state: State | None, at: int, status: str, *, cmd: str = "c1") -> Event:
    return Event("huawei", "d1", cmd, state, status, at, Source.CALLBACK)


@pytest.fixture
def created(store) -> str:
    store.create_command(NewCommand(
        platform="huawei", device_id="d1", command_id="c1", service_id="Valve", method="SET",
        paras={"open": 1}, created_ms=T0, stale_at_ms=T0 + HOUR_MS))
    return "c1"


def test_an_unknown_status_is_noted_not_applied_and_asks_for_a_reconcile(
        store, redis_client, created):
    store.apply_event(event(State.SENT, T0 + 1, "SENT"), T0 + 1)
    before = redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1")
    assert before == T0 + 1 + store.reconcile_after_ms

    outcome, state = store.apply_event(event(None, T0 + 2, "QUEUED_AT_GATEWAY"), T0 + 5)

    assert (outcome, state) == ("unknown", State.SENT)
    record = store.get("huawei", "c1")
    assert (record["state"], record["platform_status"]) == ("SENT", "SENT")
    assert record["timeline"][-1] == {"state": None, "attempt": 0, "at_ms": T0 + 2,
                                      "source": "callback",
                                      "platform_status": "QUEUED_AT_GATEWAY", "applied": False}
    # the device's history is re-checked now, not after RECONCILE_AFTER_S
    assert redis_client.zscore(keys.device_quiet("huawei", "d1"), "*") == T0 + 5
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + 5


def test_it_moves_nothing_and_a_later_known_status_still_applies(store, created):
    store.apply_event(event(None, T0 + 1, "WAITING"), T0 + 1)
    outcome, state = store.apply_event(event(State.DELIVERED, T0 + 2, "DELIVERED"), T0 + 2)

    assert (outcome, state) == ("moved", State.DELIVERED)
    timeline = store.get("huawei", "c1")["timeline"]
    assert [(e["state"], e["applied"]) for e in timeline] == [
        ("PENDING", True), (None, False), ("DELIVERED", True)]


def test_a_redelivered_unknown_status_is_noted_once(store, created):
    store.apply_event(event(None, T0 + 1, "WAITING"), T0 + 1)
    again = store.apply_event(event(None, T0 + 1, "WAITING"), T0 + 9)

    assert again == ("unknown", State.PENDING)
    assert len(store.get("huawei", "c1")["timeline"]) == 2


def test_for_a_command_never_seen_only_the_reconcile_is_asked(store, redis_client):
    outcome, state = store.apply_event(event(None, T0, "WAITING", cmd="new"), T0 + 3)

    assert (outcome, state) == ("unknown", None)
    assert store.get("huawei", "new") is None  # no state to record it in: history brings it
    assert redis_client.zscore(keys.DUE_RECONCILE, "huawei:d1") == T0 + 3


def test_the_event_travels_the_queue_without_a_state():
    e = event(None, T0, "WAITING")
    assert e.to_message()["state"] is None
    assert Event.from_message(e.to_message()) == e


@pytest.mark.parametrize("raw,kept", [
    ("PROCESSING", "PROCESSING"), ("a,b;c", "a_b_c"), ("line\nbreak", "line_break"),
    (5, "5"), (None, "null"), ("", '""'), ({"x": [1, 2]}, '{"x":[1_2]}'),
    ("状态", "状态"), ("x" * 100, "x" * 64),
])
def test_a_raw_status_is_kept_in_a_form_the_timeline_can_hold(raw, kept):
    assert storable_status(raw) == kept
    entry = f"?0,{T0},c,{storable_status(raw)},0"
    assert decode_timeline(entry)[0]["platform_status"] == kept

"""The re-checks behind a replay, as plain functions on a real store."""

from __future__ import annotations

from store.commands import NewCommand
from store.model import Event, Source, State
from workers.replay import Decision, still_wanted

T0 = 1_700_000_000_000


def event(command_id: str, state: State) -> dict:
    return Event("huawei", "d1", command_id, state, state.value, T0, Source.CALLBACK).to_message()


def test_an_event_is_wanted_while_it_moves_its_command_or_the_command_is_unknown(store):
    store.create_command(NewCommand("huawei", "d1", "c1", "S", "M", {}, T0, T0 + 1000))
    assert still_wanted(store, "apply_event", {"event": event("c1", State.SENT)}, T0,
                        T0).decision is Decision.REPLAY
    assert still_wanted(store, "apply_event", {"event": event("c1", State.PENDING)}, T0,
                        T0).decision is Decision.DROP
    assert still_wanted(store, "apply_event", {"event": event("c-new", State.SENT)}, T0,
                        T0).decision is Decision.REPLAY
    assert still_wanted(store, "apply_event", {"event": {"state": "NOPE"}}, T0,
                        T0).decision is Decision.DROP


def test_revoke_of_all_and_following_a_task_are_wanted_while_anything_is_pending(store):
    store.create_command(NewCommand("huawei", "d1", "c1", "S", "M", {}, T0, T0 + 60_000))
    fresh_only = {"platform": "huawei", "device_id": "d1", "only_stale": True}
    every = {**fresh_only, "only_stale": False}
    task = {"platform": "huawei", "device_id": "d1", "task_id": "t1", "lock_owner": None,
            "polls": 0}
    assert still_wanted(store, "revoke_device", fresh_only, T0, T0).decision is Decision.DROP
    assert still_wanted(store, "revoke_device", every, T0, T0).decision is Decision.REPLAY
    assert still_wanted(store, "follow_cancel_task", task, T0, T0).decision is Decision.REPLAY

    store.apply_event(Event("huawei", "d1", "c1", State.CANCELED, "CANCELED", T0,
                            Source.REVOKE), T0)

    assert still_wanted(store, "follow_cancel_task", task, T0, T0).decision is Decision.DROP
    assert still_wanted(store, "reconcile_device", {"platform": "huawei", "device_id": "d1",
                                                    "user": False}, T0, T0).decision is (
        Decision.DROP)


def test_a_job_of_an_actor_without_a_check_is_kept(store):
    verdict = still_wanted(store, "some_new_actor", {}, T0, T0)
    assert verdict.decision is Decision.KEEP and "some_new_actor" in verdict.reason


def test_an_unknown_status_is_wanted_even_for_a_final_command(store):
    # replaying it notes the platform's word and asks for a reconcile; it cannot move anything
    store.create_command(NewCommand("huawei", "d1", "c1", "S", "M", {}, T0, T0 + 1000))
    store.apply_event(Event("huawei", "d1", "c1", State.SUCCEEDED, "SUCCESSFUL", T0,
                            Source.CALLBACK), T0)
    unknown = Event("huawei", "d1", "c1", None, "WAITING", T0, Source.CALLBACK).to_message()

    verdict = still_wanted(store, "apply_event", {"event": unknown}, T0, T0)

    assert verdict.decision is Decision.REPLAY and "does not know" in verdict.reason

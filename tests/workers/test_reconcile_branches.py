"""Reconciling one device, branch by branch, on the real store with an in-memory platform: how
far back history is asked, each reported command through the state machine, what is counted,
and the device's due deadlines afterwards."""

from __future__ import annotations

import pytest

from platforms.errors import RateLimitTimeout
from platforms.gateway import Observed
from store import keys
from store.commands import OpenCommand
from store.model import Event, Source, State
from store.ratelimit import Priority
from tests.workers.conftest import (
    DEVICE,
    PLATFORM,
    reconcile_requested_at,
    recorded,
    revocable,
    state,
)
from workers.reconcile import CLOCK_SLACK_MS, UNKNOWN_LOOKBACK_MS, reconcile_device, window_start

T0 = 1_700_000_000_000
FRESH = 60_000


# -- window_start ----------------------------------------------------------------------------

def test_the_window_starts_at_the_oldest_known_creation_less_the_clock_slack():
    open_commands = [OpenCommand("c1", State.PENDING, T0 - 5_000, "api"),
                     OpenCommand("c2", State.SENT, T0 - 9_000, "api"),
                     OpenCommand("c3", State.SENT, None, "api")]  # no creation time: no say

    assert window_start(open_commands, T0) == T0 - 9_000 - CLOCK_SLACK_MS


def test_a_command_known_only_from_a_callback_widens_the_window_by_its_lifetime():
    open_commands = [OpenCommand("c1", State.PENDING, T0 - 5_000, "api"),
                     OpenCommand("c-cb", State.SENT, T0 - 1_000, "unknown")]

    assert window_start(open_commands, T0) == T0 - 1_000 - UNKNOWN_LOOKBACK_MS - CLOCK_SLACK_MS


@pytest.mark.parametrize("open_commands", [[], [OpenCommand("c1", State.SENT, None, "api")]])
def test_with_no_creation_time_known_the_window_is_a_commands_lifetime(open_commands):
    assert window_start(open_commands, T0) == T0 - UNKNOWN_LOOKBACK_MS - CLOCK_SLACK_MS


# -- reconcile_device ------------------------------------------------------------------------

def seen(command_id: str, state: State, at_ms: int | None, **fill: str) -> Observed:
    return Observed(command_id, state, state.value, at_ms, 0, fill)


def test_history_is_asked_from_the_window_start_at_the_callers_priority(store, gateway, clock):
    created = clock() - 10_000
    recorded(store, clock, "c1", stale_in_ms=FRESH, created_ms=created)

    reconcile_device(store, gateway, DEVICE, clock, priority=Priority.USER)

    [call] = gateway.calls
    assert (call.method, call.args) == ("history", (created - CLOCK_SLACK_MS,))
    assert call.priority is Priority.USER


def test_history_goes_through_the_state_machine_and_corrections_are_counted(
        store, gateway, clock):
    missed = recorded(store, clock, "c-missed", stale_in_ms=FRESH)
    ahead = recorded(store, clock, "c-ahead", stale_in_ms=FRESH)
    store.apply_event(Event(PLATFORM, DEVICE, ahead, State.DELIVERED, "DELIVERED", clock(),
                            Source.CALLBACK), clock())
    at = clock() - 1_000
    gateway.report(DEVICE,
                   seen(missed, State.SUCCEEDED, at),  # its callback was lost
                   seen(ahead, State.SENT, at),  # older than what we know: nothing moves back
                   seen("c-new", State.SENT, at, service_id="Valve", method="SET"))

    result = reconcile_device(store, gateway, DEVICE, clock)

    assert (result.observed, result.corrections, result.learned) == (3, 2, 1)
    assert state(store, missed) == "SUCCEEDED" and state(store, ahead) == "DELIVERED"
    last = store.get(PLATFORM, missed)["timeline"][-1]
    assert (last["source"], last["at_ms"]) == ("reconcile", at)
    new = store.get(PLATFORM, "c-new")
    assert (new["state"], new["origin"], new["method"]) == ("SENT", "unknown", "SET")


def test_history_that_confirms_what_is_known_corrects_nothing(store, gateway, clock):
    pending = recorded(store, clock, "c1", stale_in_ms=FRESH)
    gateway.report(DEVICE, seen(pending, State.PENDING, clock() - 1_000))

    result = reconcile_device(store, gateway, DEVICE, clock)

    assert (result.observed, result.corrections, result.learned) == (1, 0, 0)
    assert len(store.get(PLATFORM, pending)["timeline"]) == 1  # no timeline noise


def test_a_report_without_a_time_is_taken_as_now(store, gateway, clock):
    command = recorded(store, clock, "c1", stale_in_ms=FRESH)
    gateway.report(DEVICE, seen(command, State.SENT, None))
    clock.advance(3)

    reconcile_device(store, gateway, DEVICE, clock)

    assert store.get(PLATFORM, command)["timeline"][-1]["at_ms"] == clock()


def test_a_parked_command_history_finds_still_waiting_is_revocable_again(store, gateway,
                                                                        clock):
    command = recorded(store, clock, "c1", stale_in_ms=-FRESH)
    store.park_uncancellable(PLATFORM, DEVICE, [command])
    assert revocable(store) == set()
    gateway.report(DEVICE, seen(command, State.PENDING, clock() - 1_000))

    reconcile_device(store, gateway, DEVICE, clock)

    assert revocable(store) == {command}


def test_a_finished_reconcile_drops_the_request_and_gives_open_commands_a_fresh_deadline(
        store, gateway, clock, redis_client):
    command = recorded(store, clock, "c1", stale_in_ms=FRESH)
    store.request_reconcile(PLATFORM, DEVICE, clock())
    clock.advance(60)

    reconcile_device(store, gateway, DEVICE, clock)

    next_due = clock() + store.reconcile_after_ms
    assert reconcile_requested_at(redis_client) is None
    assert redis_client.zscore(keys.device_quiet(PLATFORM, DEVICE), command) == next_due
    assert redis_client.zscore(keys.DUE_RECONCILE, keys.device_tag(PLATFORM, DEVICE)) == next_due


def test_a_reconcile_without_a_call_slot_leaves_the_device_due(store, gateway, clock,
                                                              redis_client):
    command = recorded(store, clock, "c1", stale_in_ms=FRESH)
    store.request_reconcile(PLATFORM, DEVICE, clock())
    gateway.answer("history", RateLimitTimeout(PLATFORM, 0.25))

    with pytest.raises(RateLimitTimeout):
        reconcile_device(store, gateway, DEVICE, clock)

    assert reconcile_requested_at(redis_client) == clock() and state(store, command) == "PENDING"

"""The hold-back queue (docs/architecture.md, "The hold-back queue") on the real store with an
in-memory IoTDA (tests/fake_gateway.py): a creation goes to the platform only when its device
has room, else it is held with no platform call; the next goes when the one ahead is final,
with the time it has left as its lifetime; stale and superseded held commands are revoked in
cmdkeeper; pushes and history naming the platform's id find the record cmdkeeper named."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cmdkeeper import metrics
from cmdkeeper.clock import ManualClock
from cmdkeeper.config import Config
from cmdkeeper.metrics import field
from platforms.errors import PermanentError
from platforms.gateway import Observed
from store import keys, retention
from store.commands import CommandStore
from store.holdback import EXPIRY_CHECK_SLACK_MS, MIN_LEFT_MS, RELEASE_GRACE_MS
from store.model import Event, Source, State
from store.script_calls import Scripts
from tests.fake_gateway import FakeGateway
from workers import events, reconcile, revoke
from workers.clock import Dispatcher, claim
from workers.create import CreateBody, create_command
from workers.holdback import PLATFORM_FULL_RETRY_MS, release_device

P, DEVICE = "iotda", "demo-product_8699"
T0 = 1_700_000_000_000
STALE_S = 600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def policy(config: Config) -> Config:
    return replace(config, stale_after_s=STALE_S)


@pytest.fixture
def gateway(clock: ManualClock) -> FakeGateway:
    return FakeGateway(clock, P)


def body(method: str = "SET_STATE", **extra) -> CreateBody:
    return CreateBody(platform=P, device_id=DEVICE, service_id="Valve", method=method,
                      paras={"state": 1}, expire_in_s=extra.pop("expire_in_s", 172800),
                      stale_after_s=extra.pop("stale_after_s", None))


def create(store, gateway, policy, clock, **kwargs) -> str:
    return create_command(store, gateway, policy, body(**kwargs), clock).command_id


def pushed(store: CommandStore, clock: ManualClock, platform_id: str, state: State):
    """A push naming the platform's id, applied as the worker applies it."""
    return events.apply_event(store, Event(P, DEVICE, platform_id, state, state.value, clock(),
                                           Source.CALLBACK).to_message(), clock)


def release(store, gateway, clock, limit: int = 1):
    return release_device(store, gateway, DEVICE, clock, in_flight_limit=limit)


def record(store: CommandStore, command_id: str) -> dict:
    return store.get(P, command_id)


def pid(store: CommandStore, command_id: str) -> str:
    """The platform's id of a command handed over."""
    return record(store, command_id)["platform_command_id"]


def test_with_room_a_command_goes_at_once_with_the_time_until_stale_as_its_lifetime(
        store, gateway, policy, clock, redis_client):
    first = create(store, gateway, policy, clock)
    [call] = gateway.calls_to("create")
    assert call.args[0].expire_in_s == STALE_S  # whole seconds, rounded down: never past it
    r = record(store, first)
    assert first.startswith("ck-") and r["platform_command_id"].startswith("cmd-")
    assert (r["state"], r["platform_status"], r["origin"]) == ("PENDING", "PENDING", "api")
    assert redis_client.smembers(keys.device_in_flight(P, DEVICE)) == {first}
    # the platform's to expire: not on the stale index, its history re-checked just after
    assert store.device_state(P, DEVICE).pending == {}
    assert redis_client.zscore(keys.device_quiet(P, DEVICE), first) == \
        r["expire_at"] + EXPIRY_CHECK_SLACK_MS


def test_without_room_a_command_is_held_with_no_platform_call(store, gateway, policy, clock,
                                                              redis_client):
    create(store, gateway, policy, clock)
    clock.advance(1)
    held = create(store, gateway, policy, clock, method="RESET")
    assert len(gateway.calls_to("create")) == 1
    r = record(store, held)
    assert (r["state"], r["platform_status"], r.get("platform_command_id")) == (
        "PENDING", "HELD", None)
    assert r["stale_at"] == clock() + STALE_S * 1000
    state = store.device_state(P, DEVICE)
    assert state.held == [held] and state.pending == {held: r["stale_at"]}
    assert redis_client.zscore(keys.DUE_RELEASE, f"{P}:{DEVICE}") is None  # nothing to do yet


def test_the_next_goes_when_the_one_ahead_is_final_with_the_time_it_has_left(
        store, gateway, policy, clock, redis_client):
    first = create(store, gateway, policy, clock)
    second = create(store, gateway, policy, clock)
    third = create(store, gateway, policy, clock)
    clock.advance(100)
    applied = pushed(store, clock, pid(store, first), State.SUCCEEDED)  # IoTDA's id
    assert (applied.outcome, applied.release) == ("moved", True)
    assert record(store, first)["state"] == "SUCCEEDED"
    assert redis_client.zscore(keys.DUE_RELEASE, f"{P}:{DEVICE}") == \
        clock() + RELEASE_GRACE_MS  # the clock's safety net, should the job be lost

    result = release(store, gateway, clock)
    assert [r for r, _ in result.released] == [second]  # one at a time, in creation order
    assert gateway.calls_to("create")[-1].args[0].expire_in_s == STALE_S - 100
    r = record(store, second)
    assert (r["platform_status"], r["platform_command_id"], r["released_at"]) == (
        "PENDING", result.released[0][1], clock())
    assert [(e["state"], e["platform_status"], e["source"]) for e in r["timeline"]] == [
        ("PENDING", "HELD", "api"), ("PENDING", "PENDING", "api")]
    assert store.device_state(P, DEVICE).held == [third]
    assert redis_client.zscore(keys.DUE_RELEASE, f"{P}:{DEVICE}") is None
    assert release(store, gateway, clock).released == []  # no room until the second ends


def test_a_stale_held_command_is_revoked_here_without_a_platform_call(store, gateway, policy,
                                                                      clock):
    create(store, gateway, policy, clock)
    held = create(store, gateway, policy, clock, stale_after_s=60)
    clock.advance(60)
    calls = len(gateway.calls)
    metrics.RECORDER.drain()
    result = revoke.revoke_device(store, gateway, DEVICE, clock)
    assert result.canceled == [held] and result.held
    assert len(gateway.calls) == calls  # the platform never heard of it
    r = record(store, held)
    assert (r["state"], r["platform_status"], r["timeline"][-1]["source"]) == (
        "CANCELED", "HELD", "revoke")
    assert store.device_state(P, DEVICE).held == []
    counts, _ = metrics.RECORDER.drain()  # a revocation like any other, of mode held
    assert counts[field("cmdkeeper_revocations_total", (("platform", P), ("reason", "stale")))] \
        == 1
    assert counts[field("cmdkeeper_revocation_results_total", (
        ("platform", P), ("mode", "held"), ("result", "canceled")))] == 1


def test_revoking_all_takes_every_held_command_and_leaves_the_one_on_the_platform(
        store, gateway, policy, clock):
    sent = create(store, gateway, policy, clock)
    held = [create(store, gateway, policy, clock) for _ in range(2)]
    result = revoke.revoke_device(store, gateway, DEVICE, clock, only_stale=False)
    assert sorted(result.canceled) == sorted(held)
    assert record(store, sent)["state"] == "PENDING"
    assert gateway.calls_to("cancel_one") == gateway.calls_to("cancel_all") == []


def test_a_held_command_close_to_stale_is_skipped_and_the_next_one_goes(
        store, gateway, policy, clock):
    sent = create(store, gateway, policy, clock)
    almost = create(store, gateway, policy, clock, stale_after_s=10)
    later = create(store, gateway, policy, clock)
    clock.advance((10_000 - MIN_LEFT_MS) / 1000)
    pushed(store, clock, pid(store, sent), State.FAILED)
    assert [r for r, _ in release(store, gateway, clock).released] == [later]
    assert record(store, almost)["platform_status"] == "HELD"  # left to its revocation


def test_supersede_makes_an_older_held_command_stale_at_once(store, gateway, policy, clock):
    policy = replace(policy, supersede=True)
    sent = create(store, gateway, policy, clock)
    older = create(store, gateway, policy, clock)
    clock.advance(1)
    result = create_command(store, gateway, policy, body(), clock)
    assert result.held and result.replaced == [older]
    assert record(store, older)["replaced_by"] == result.command_id
    assert record(store, sent).get("replaced_by") is None  # on the platform: it cannot be
    revoked = revoke.revoke_device(store, gateway, DEVICE, clock)
    assert revoked.canceled == [older] and len(gateway.calls_to("create")) == 1


def test_a_platform_refusal_on_release_fails_that_command_and_the_next_one_goes(
        store, gateway, policy, clock):
    sent = create(store, gateway, policy, clock)
    refused, nxt = create(store, gateway, policy, clock), create(store, gateway, policy, clock)
    pushed(store, clock, pid(store, sent), State.SUCCEEDED)
    gateway.answer("create", PermanentError(P, "IOTDA.014109", "no such command in the model",
                                            400))
    result = release(store, gateway, clock)
    assert result.refused == [refused] and [r for r, _ in result.released] == [nxt]
    r = record(store, refused)
    assert (r["state"], r["platform_status"], r["error"]["code"]) == (
        "FAILED", "REFUSED", "IOTDA.014109")


def test_a_full_platform_keeps_the_command_held_and_the_clock_tries_again(
        store, gateway, policy, clock, redis_client):
    sent = create(store, gateway, policy, clock)
    held = create(store, gateway, policy, clock)
    pushed(store, clock, pid(store, sent), State.SUCCEEDED)
    gateway.answer("create", PermanentError(P, "IOTDA.014108", "20 PENDING already", 400))
    result = release(store, gateway, clock)
    assert result.later and result.released == []
    assert record(store, held)["platform_status"] == "HELD"
    assert redis_client.zscore(keys.DUE_RELEASE, f"{P}:{DEVICE}") == \
        clock() + PLATFORM_FULL_RETRY_MS


def test_two_in_flight_go_together(store, gateway, policy, clock):
    policy = replace(policy, iotda_in_flight_per_device=2)
    results = [create_command(store, gateway, policy, body(), clock) for _ in range(3)]
    assert [r.held for r in results] == [False, False, True]
    pushed(store, clock, pid(store, results[1].command_id), State.SUCCEEDED)
    assert [r for r, _ in release(store, gateway, clock, limit=2).released] == [
        results[2].command_id]


def test_a_push_for_a_command_being_recorded_waits_instead_of_making_a_second_record(
        store, gateway, policy, clock):
    assert store.locks.acquire(P, DEVICE, "create:x", 30_000)
    with pytest.raises(events.NotYetRecorded):
        pushed(store, clock, "cmd-9", State.SENT)
    assert store.get(P, "cmd-9") is None
    store.locks.release(P, DEVICE, "create:x")
    assert pushed(store, clock, "cmd-9", State.SENT).outcome == "created"  # not ours after all


def test_history_naming_the_platforms_ids_reconciles_the_records_and_frees_the_queue(
        store, gateway, policy, clock):
    first = create(store, gateway, policy, clock)
    second = create(store, gateway, policy, clock)
    clock.advance(30)
    gateway.report(DEVICE, Observed(pid(store, first), State.SUCCEEDED, "SUCCESSFUL",
                                    clock() - 5_000),
                   Observed("other-app", State.PENDING, "PENDING", T0, fill={
                       "expire_at": str(T0 + 60_000)}))
    result = reconcile.reconcile_device(store, gateway, DEVICE, clock)
    assert result.release and record(store, first)["state"] == "SUCCEEDED"
    assert record(store, "other-app")["origin"] == "unknown"  # another client's command
    assert record(store, second)["platform_status"] == "HELD"
    # still PENDING on the platform, to expire within the window: looked at again just after
    quiet = store.client.zscore(keys.device_quiet(P, DEVICE), "*")
    assert quiet == T0 + 60_000 + EXPIRY_CHECK_SLACK_MS


def test_retention_forgets_the_platform_id_with_the_record(store, gateway, policy, clock,
                                                           redis_client):
    first = create(store, gateway, policy, clock)
    pushed(store, clock, pid(store, first), State.SUCCEEDED)
    retention.remove_due(redis_client, Scripts(redis_client), clock() + 10**10, 1)
    assert store.get(P, first) is None
    assert redis_client.hgetall(keys.device_platform_ids(P, DEVICE)) == {}


def test_the_clock_sends_a_release_when_the_immediate_job_did_not_run(store, gateway, policy,
                                                                       clock, redis_client):
    sent = create(store, gateway, policy, clock)
    create(store, gateway, policy, clock)
    pushed(store, clock, pid(store, sent), State.SUCCEEDED)
    early = claim(redis_client, store.scripts, clock())
    assert early.release == []  # the worker that applied it sends the job itself
    due = clock() + RELEASE_GRACE_MS
    claimed = claim(redis_client, store.scripts, due)
    assert claimed.release == [(P, DEVICE, due)]
    jobs: list[tuple[str, str]] = []
    Dispatcher(lambda *a: None, lambda *a: None, lambda *a: jobs.append(a))(claimed)
    assert jobs == [(P, DEVICE)]

"""The hold-back queue's atomic steps in Redis (store/lua/create_command.lua, apply_event.lua,
next_held.lua, record_release.lua): room is decided in the same step that holds a command,
the platform's id finds the record cmdkeeper named, and what frees a place in flight says so."""

from __future__ import annotations

from store import feed, keys
from store.commands import CommandStore, NewCommand
from store.holdback import MIN_LEFT_MS
from store.model import HELD_STATUS, Event, Source, State

P, D = "iotda", "dev-1"
T0 = 1_700_000_000_000
MEMBER = f"{P}:{D}"


def new(command_id: str, *, created: int = T0, stale_in_ms: int = 600_000,
        platform_command_id: str = "") -> NewCommand:
    return NewCommand(P, D, command_id, "Valve", "SET", {}, created, created + stale_in_ms,
                      created + 3_600_000, platform_status="PENDING" if platform_command_id
                      else HELD_STATUS, platform_command_id=platform_command_id)


def hold(store: CommandStore, command_id: str, now: int = T0, **kwargs) -> bool:
    held, _ = store.hold_unless_room(new(command_id, created=now, **kwargs), in_flight_limit=1,
                                     supersede=False, now_ms=now)
    return held


def sent(store: CommandStore, command_id: str, platform_id: str) -> None:
    store.create_command(new(command_id, platform_command_id=platform_id), in_flight_limit=1)


def test_room_means_nothing_in_flight_and_no_held_command_that_could_go_first(store,
                                                                             redis_client):
    assert not hold(store, "ck-1")  # room: nothing recorded
    assert redis_client.exists(keys.command(P, D, "ck-1")) == 0
    sent(store, "ck-1", "p-1")
    assert hold(store, "ck-2")  # one in flight: held
    assert store.device_state(P, D).held == ["ck-2"]
    # revoked by its stale deadline if it is still held then; nothing to re-check on the platform
    assert redis_client.zscore(keys.device_stale(P, D), "ck-2") == T0 + 600_000
    assert redis_client.zscore(keys.device_quiet(P, D), "ck-2") is None


def test_a_held_command_about_to_go_stale_does_not_keep_a_new_one_waiting(store, redis_client):
    sent(store, "ck-1", "p-1")
    assert hold(store, "ck-2", stale_in_ms=MIN_LEFT_MS + 1_000)
    store.apply(Event(P, D, "p-1", State.SUCCEEDED, "SUCCESSFUL", T0, Source.CALLBACK), T0)
    later = T0 + 1_000
    assert not hold(store, "ck-3", now=later)  # ck-2 will be revoked, never sent: ck-3 goes


def test_holding_while_a_held_one_could_go_puts_the_device_on_the_release_index(store,
                                                                               redis_client):
    sent(store, "ck-1", "p-1")
    assert hold(store, "ck-2")
    store.apply(Event(P, D, "p-1", State.SUCCEEDED, "SUCCESSFUL", T0, Source.CALLBACK), T0)
    redis_client.zrem(keys.DUE_RELEASE, MEMBER)  # say the job that releases ck-2 was lost
    assert hold(store, "ck-3", now=T0 + 5)
    assert redis_client.zscore(keys.DUE_RELEASE, MEMBER) == T0 + 5


def test_the_platform_id_finds_the_record_and_the_feed_names_cmdkeepers_id(store,
                                                                          redis_client):
    sent(store, "ck-1", "p-1")
    applied = store.apply(Event(P, D, "p-1", State.SENT, "SENT", T0 + 1, Source.CALLBACK),
                          T0 + 1)
    assert (applied.outcome, applied.state, applied.release) == ("moved", State.SENT, False)
    assert store.get(P, "p-1") is None and store.get(P, "ck-1")["state"] == "SENT"
    assert [e.command_id for e in feed.read(redis_client, None, 10)] == ["ck-1", "ck-1"]


def test_only_a_command_in_flight_becoming_final_frees_a_place(store, redis_client):
    sent(store, "ck-1", "p-1")
    assert hold(store, "ck-2")
    canceled = store.apply(Event(P, D, "ck-2", State.CANCELED, HELD_STATUS, T0, Source.REVOKE),
                           T0)
    assert not canceled.release and store.device_state(P, D).held == []
    done = store.apply(Event(P, D, "p-1", State.EXPIRED, "EXPIRED", T0, Source.CALLBACK), T0)
    assert done.release
    assert redis_client.smembers(keys.device_in_flight(P, D)) == set()
    # nothing was held: no reason for the clock to look
    assert redis_client.zscore(keys.DUE_RELEASE, MEMBER) is None


def test_a_release_moves_the_command_from_held_to_in_flight_in_one_step(store, redis_client):
    sent(store, "ck-1", "p-1")
    assert hold(store, "ck-2")
    store.apply(Event(P, D, "p-1", State.SUCCEEDED, "SUCCESSFUL", T0, Source.CALLBACK), T0)
    held = store.holdback.next_held(P, D, in_flight_limit=1, now_ms=T0 + 10)
    assert held is not None and held.command_id == "ck-2"
    assert held.deadline_ms() == T0 + 600_000
    assert store.holdback.record_release(P, D, "ck-2", platform_command_id="p-2",
                                         platform_status="PENDING",
                                         expire_at_ms=T0 + 600_000, deadline_ms=T0 + 600_000,
                                         now_ms=T0 + 10)
    assert redis_client.smembers(keys.device_in_flight(P, D)) == {"ck-2"}
    assert redis_client.hget(keys.device_platform_ids(P, D), "p-2") == "ck-2"
    assert store.device_state(P, D).pending == {}  # the platform expires it now
    # re-checked just after its expiry (sooner than RECONCILE_AFTER_S here)
    assert redis_client.zscore(keys.device_quiet(P, D), "ck-2") == T0 + 600_000 + 30_000
    assert store.holdback.next_held(P, D, in_flight_limit=1, now_ms=T0 + 20) is None

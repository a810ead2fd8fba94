"""The change feed: one event per change of a command's state, written in the same script as the
change, in order, read by `after`, trimmed with a marker that tells readers what is gone."""

from __future__ import annotations

import pytest

from store import feed, keys
from store.commands import NewCommand
from store.model import CURRENT_ATTEMPT, Event, Source, State
from store.script_calls import Scripts


def create(store, command_id: str, now: int, platform: str = "huawei",
           device: str = "d1", status: str = "PENDING") -> None:
    store.create_command(NewCommand(
        platform=platform, device_id=device, command_id=command_id, service_id="Valve",
        method="SET", paras={"open": 1}, created_ms=now, stale_at_ms=now + 60_000,
        platform_status=status))


def event(command_id: str, state: State, at: int, *, source: Source = Source.CALLBACK,
          platform: str = "huawei", device: str = "d1", attempt: int = 0) -> Event:
    return Event(platform, device, command_id, state, state.value, at, source, attempt)


def all_events(redis_client) -> list[feed.FeedEvent]:
    return feed.read(redis_client, None, 1000)


def test_creation_and_each_move_of_state_are_events(store, redis_client, clock):
    now = clock()
    create(store, "c1", now)
    store.apply_event(event("c1", State.SENT, now + 10), now + 20)
    store.apply_event(event("c1", State.SUCCEEDED, now + 30), now + 40)

    got = [(e.state, e.previous_state, e.source, e.origin) for e in all_events(redis_client)]
    assert got == [("PENDING", None, "api", "api"), ("SENT", "PENDING", "callback", "api"),
                   ("SUCCEEDED", "SENT", "callback", "api")]
    first = all_events(redis_client)[0].to_json()
    assert first["type"] == "command.state_changed" and first["previous_state"] is None
    assert first["at"].endswith("Z") and first["command_id"] == "c1"


def test_duplicates_late_events_and_confirmations_are_not_events(store, redis_client, clock):
    now = clock()
    create(store, "c1", now)
    store.apply_event(event("c1", State.DELIVERED, now + 10), now + 20)
    before = len(all_events(redis_client))

    store.apply_event(event("c1", State.DELIVERED, now + 10), now + 30)  # the same again
    store.apply_event(event("c1", State.SENT, now + 5), now + 40)  # late
    store.apply_event(event("c1", State.DELIVERED, now + 10, source=Source.RECONCILE),
                      now + 50)  # history confirms

    assert len(all_events(redis_client)) == before == 2


def test_a_command_first_seen_in_a_callback_is_created_with_origin_unknown(store,
                                                                          redis_client, clock):
    now = clock()
    store.apply_event(event("never-seen", State.DELIVERED, now), now)

    (only,) = all_events(redis_client)
    assert (only.state, only.previous_state, only.origin) == ("DELIVERED", None, "unknown")


def test_a_onenet_retry_is_an_event_only_when_the_state_changes(store, redis_client, clock):
    now = clock()
    create(store, "u1", now, platform="onenet", device="imei1", status="1")
    store.apply_event(event("u1", State.SENT, now + 10, platform="onenet", device="imei1"),
                      now + 10)
    # sent, no answer: OneNET puts it back to wait, one attempt used
    store.apply_event(event("u1", State.PENDING, now + 20, platform="onenet", device="imei1",
                            attempt=1), now + 20)
    # the same waiting state again, a further attempt: no change of state
    store.apply_event(event("u1", State.PENDING, now + 30, platform="onenet", device="imei1",
                            attempt=2), now + 30)

    got = [(e.state, e.previous_state, e.attempt) for e in all_events(redis_client)]
    assert got == [("PENDING", None, 0), ("SENT", "PENDING", 0), ("PENDING", "SENT", 1)]
    assert all_events(redis_client)[0].platform_status == "1"


def test_a_push_without_an_attempt_is_recorded_with_the_current_one(store, redis_client, clock):
    now = clock()
    create(store, "u1", now, platform="onenet", device="imei1", status="1")
    store.apply_event(event("u1", State.SENT, now + 10, platform="onenet", device="imei1",
                            attempt=CURRENT_ATTEMPT), now + 10)
    assert all_events(redis_client)[-1].attempt == 0


def test_ids_increase_even_when_the_clock_goes_back(store, redis_client, clock):
    now = clock()
    create(store, "c1", now)
    create(store, "c2", now - 5_000)  # another process, its clock behind
    store.apply_event(event("c1", State.SENT, now), now - 10_000)

    ids = [feed.id_key(e.id) for e in all_events(redis_client)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [e.n for e in all_events(redis_client)] == [1, 2, 3]


def test_reading_after_an_id_with_a_limit(store, redis_client, clock):
    now = clock()
    for i in range(5):
        create(store, f"c{i}", now + i)
    events = all_events(redis_client)

    page = feed.read(redis_client, events[1].id, 2)

    assert [e.command_id for e in page] == ["c2", "c3"]
    assert feed.read(redis_client, events[-1].id, 10) == []


def test_trimming_forgets_old_events_and_readers_behind_are_told(store, redis_client, clock):
    now = clock()
    create(store, "old", now)
    create(store, "new", now + 60_000)
    old, new = all_events(redis_client)
    scripts = Scripts(redis_client)

    removed = feed.trim(redis_client, scripts, now + 60_000 + 30_000, retain_s=60)

    assert removed == 1
    assert [e.command_id for e in all_events(redis_client)] == ["new"]
    assert feed.trimmed_up_to(redis_client) == old.id
    with pytest.raises(feed.FeedGone) as gone:
        feed.read(redis_client, "0-0", 10)
    assert gone.value.oldest == new.id
    # a reader that saw the last removed event misses nothing
    assert [e.command_id for e in feed.read(redis_client, old.id, 10)] == ["new"]
    assert feed.trim(redis_client, scripts, now + 90_000, retain_s=60) == 0


def test_id_checks_and_cursors():
    assert feed.valid_id("1733050000000-0")
    assert not feed.valid_id("73422024111019760759-6846")  # over 64 bits
    assert not feed.valid_id("12-")
    assert feed.id_key(feed.id_at(1000)) < feed.id_key("1000-0") < feed.id_key("1000-1")
    assert feed.id_at(0) == "0-0"


def test_the_event_and_the_change_are_one_script(store, redis_client, clock):
    # the apply script's writes and its event are in one script: a change without its event is
    # impossible because both happen or neither does; here the counts agree after many writes
    now = clock()
    for i in range(20):
        create(store, f"c{i}", now)
        store.apply_event(event(f"c{i}", State.SENT, now + 1), now + 1)
        store.apply_event(event(f"c{i}", State.SENT, now + 1), now + 2)  # duplicate
    assert redis_client.xlen(keys.EVENTS) == 40 == int(redis_client.get(keys.EVENTS_SEQ))

"""Commands per state, the PENDING sets and stale commands, kept by the create and apply scripts;
commands recorded before those counts existed never drive a count negative, and the backfill
counts them once."""

from __future__ import annotations

from cmdkeeper import metrics
from cmdkeeper.metrics import field
from store import keys
from store.commands import NewCommand
from store.model import Event, Source, State
from store.scripts import LUA_DIR
from store.stats import read_fleet_stats, read_snapshot
from store.stats_backfill import count_existing

HOUR_MS = 3_600_000


def create(store, command_id, created, *, device="d1", stale_after_ms=HOUR_MS, supersede=False,
           platform="huawei"):
    return store.create_command(
        NewCommand(platform, device, command_id, "Valve", "SET", {}, created,
                   created + stale_after_ms), supersede=supersede, now_ms=created)


def event(command_id, state, at, *, source=Source.CALLBACK, device="d1", platform="huawei",
          attempt=0):
    return Event(platform, device, command_id, state, state.value, at, source, attempt)


def states(redis_client, now, platform="huawei"):
    counts = read_fleet_stats(redis_client, now).by_state[platform]
    return {s: n for s, n in counts.items() if n}


def pending_ids(redis_client, platform="huawei"):
    return (redis_client.zrange(keys.pending_by_creation(platform), 0, -1),
            redis_client.zrange(keys.pending_by_stale_at(platform), 0, -1))


def test_a_command_is_counted_in_one_state_at_a_time(store, redis_client, clock):
    now = clock.now_ms
    create(store, "c1", now)
    create(store, "c2", now)
    assert states(redis_client, now) == {"PENDING": 2}
    assert pending_ids(redis_client) == (["c1", "c2"], ["c1", "c2"])

    store.apply_event(event("c1", State.SENT, now), now)
    store.apply_event(event("c1", State.SUCCEEDED, now), now)
    store.apply_event(event("c1", State.SENT, now), now)  # late: nothing moves

    assert states(redis_client, now) == {"PENDING": 1, "SUCCEEDED": 1}
    assert pending_ids(redis_client) == (["c2"], ["c2"])


def test_a_callback_racing_ahead_of_creation_is_counted_once(store, redis_client, clock):
    now = clock.now_ms
    store.apply_event(event("c1", State.PENDING, now + 500), now + 500)
    create(store, "c1", now)  # the platform's answer to the create comes after its callback

    assert states(redis_client, now) == {"PENDING": 1}
    assert redis_client.zscore(keys.pending_by_creation("huawei"), "c1") == now
    assert redis_client.zscore(keys.pending_by_stale_at("huawei"), "c1") == now + HOUR_MS


def test_a_onenet_retry_waits_again_and_is_pending_again(store, redis_client, clock):
    now = clock.now_ms
    create(store, "u1", now, device="8658", platform="onenet")
    sent = event("u1", State.SENT, now, device="8658", platform="onenet")
    store.apply_event(sent, now)
    retry = event("u1", State.PENDING, now + 1, device="8658", platform="onenet", attempt=1)
    store.apply_event(retry, now + 1)

    assert states(redis_client, now, "onenet") == {"PENDING": 1}
    assert pending_ids(redis_client, "onenet") == (["u1"], ["u1"])


def test_stale_commands_are_pending_ones_past_their_deadline(store, redis_client, clock):
    now = clock.now_ms
    create(store, "old", now - 2 * HOUR_MS)
    create(store, "fresh", now - 60_000)
    create(store, "other", now - 2 * HOUR_MS, device="d2")
    store.apply_event(event("other", State.DELIVERED, now, device="d2"), now)

    assert read_fleet_stats(redis_client, now).stale_awaiting_revocation == 1


def test_a_superseded_command_is_stale_at_once(store, redis_client, clock):
    now = clock.now_ms
    create(store, "c1", now - 60_000)
    create(store, "c2", now, supersede=True)

    assert read_fleet_stats(redis_client, now).stale_awaiting_revocation == 1
    assert redis_client.zscore(keys.pending_by_stale_at("huawei"), "c1") == now


def test_revocations_are_counted_as_stale_or_requested(store, redis_client, clock):
    now = clock.now_ms
    create(store, "stale", now - 2 * HOUR_MS)
    create(store, "fresh", now - 60_000)
    for command_id in ("stale", "fresh"):
        store.apply_event(event(command_id, State.CANCELED, now, source=Source.REVOKE), now)

    counts, minutes = metrics.RECORDER.drain()
    revoked = "cmdkeeper_revocations_total"
    assert counts[field(revoked, (("platform", "huawei"), ("reason", "stale")))] == 1
    assert counts[field(revoked, (("platform", "huawei"), ("reason", "requested")))] == 1
    assert sum(m.get("revocations|reason=stale", 0) for m in minutes.values()) == 1
    assert sum(m.get("revocations|reason=requested", 0) for m in minutes.values()) == 1
    assert counts[field("cmdkeeper_events_applied_total", (
        ("platform", "huawei"), ("source", "revoke"), ("outcome", "moved")))] == 2


# the record's `sc` field says it is counted in the fleet counts; dropped with the scripts' own
# record helpers (store/lua/common.lua)
DROP_SC = (LUA_DIR / "common.lua").read_text() + """
local rec = rec_load(KEYS[1])
rec.sc = nil
rec_save(KEYS[1], rec)"""


def forget_counts(redis_client, *command_ids, platform="huawei", device="d1"):
    """Make records look as if written before the fleet counts existed."""
    for command_id in command_ids:
        redis_client.eval(DROP_SC, 1, keys.command(platform, device, command_id))
    redis_client.delete(keys.command_states(platform), keys.pending_by_creation(platform),
                        keys.pending_by_stale_at(platform))


def test_an_older_record_is_counted_when_touched_and_never_subtracted(store, redis_client,
                                                                      clock):
    now = clock.now_ms
    create(store, "c1", now - 2 * HOUR_MS)
    create(store, "c2", now)
    forget_counts(redis_client, "c1", "c2")

    store.apply_event(event("c1", State.SENT, now), now)  # moves PENDING -> SENT
    store.apply_event(event("c2", State.PENDING, now), now)  # unchanged, but touched

    assert states(redis_client, now) == {"SENT": 1, "PENDING": 1}
    assert pending_ids(redis_client) == (["c2"], ["c2"])
    snapshot = read_snapshot(redis_client, now)
    assert all(n >= 0 for per in snapshot.states.values() for n in per.values())


def test_the_backfill_counts_older_records_once(store, redis_client, clock):
    now = clock.now_ms
    create(store, "c1", now - 2 * HOUR_MS)
    create(store, "c2", now)
    store.apply_event(event("c2", State.DELIVERED, now), now)
    create(store, "u1", now, device="8658", platform="onenet")
    forget_counts(redis_client, "c1", "c2")
    forget_counts(redis_client, "u1", platform="onenet", device="8658")

    assert count_existing(redis_client) == 3
    assert count_existing(redis_client) == 0  # again: nothing counted twice

    assert states(redis_client, now) == {"PENDING": 1, "DELIVERED": 1}
    assert states(redis_client, now, "onenet") == {"PENDING": 1}
    stats = read_fleet_stats(redis_client, now)
    assert stats.stale_awaiting_revocation == 1
    age = read_snapshot(redis_client, now).pending_age_sum_s["huawei"]
    assert age == 2 * 3600

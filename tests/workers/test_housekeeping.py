"""Retention (workers/housekeeping.py, store/retention.py): final commands go RETAIN_FINAL_S
after they became final, with every index entry naming them; open ones stay; a removed command's
GET says so while the feed may still name it; the feed keeps EVENTS_RETAIN_S."""

from __future__ import annotations

from store import feed, keys
from store.commands import NewCommand
from store.model import Event, Source, State
from store.script_calls import Scripts
from store.stats import read_fleet_stats
from workers import housekeeping

DAY_MS = 86_400_000


def create(store, command_id: str, now: int, device: str = "d1") -> None:
    store.create_command(NewCommand(
        platform="huawei", device_id=device, command_id=command_id, service_id="Valve",
        method="SET", paras={}, created_ms=now, stale_at_ms=now + 60_000))


def finish(store, command_id: str, now: int, device: str = "d1") -> None:
    store.apply_event(Event("huawei", device, command_id, State.SUCCEEDED, "SUCCESSFUL", now,
                            Source.CALLBACK), now)


def test_final_commands_go_with_their_index_entries_open_ones_stay(store, redis_client, config,
                                                                   clock):
    config = config.with_(retain_final_s=3 * 86_400, events_retain_s=86_400)
    t0 = clock()
    create(store, "done-early", t0)
    finish(store, "done-early", t0 + 1_000)
    create(store, "done-late", t0)
    finish(store, "done-late", t0 + 2 * DAY_MS)
    create(store, "open", t0)
    scripts = Scripts(redis_client)

    assert housekeeping.sweep(redis_client, scripts, config, t0 + 3 * DAY_MS)["commands"] == 0
    done = housekeeping.sweep(redis_client, scripts, config, t0 + 3 * DAY_MS + 2_000)

    assert done["commands"] == 1
    assert store.get("huawei", "done-early") is None
    assert not redis_client.exists(keys.command("huawei", "d1", "done-early"))
    assert redis_client.zscore(keys.device_commands("huawei", "d1"), "done-early") is None
    assert redis_client.zscore(keys.device_final("huawei", "d1"), "done-early") is None
    assert store.get("huawei", "done-late")["state"] == "SUCCEEDED"
    assert store.get("huawei", "open")["state"] == "PENDING"
    # the fleet counts no longer count it
    stats = read_fleet_stats(redis_client, t0 + 3 * DAY_MS + 2_000)
    assert stats.by_state["huawei"]["SUCCEEDED"] == 1 and stats.by_state["huawei"]["PENDING"] == 1
    # the fleet index points at the next one due
    assert redis_client.zscore(keys.DUE_RETAIN, "huawei:d1") == t0 + 2 * DAY_MS

    housekeeping.sweep(redis_client, scripts, config, t0 + 6 * DAY_MS)
    assert store.get("huawei", "done-late") is None and store.get("huawei", "open") is not None
    assert redis_client.zscore(keys.DUE_RETAIN, "huawei:d1") is None


def test_a_removed_command_is_a_404_saying_so_until_the_feed_forgets_it(
        client, auth, store, redis_client, config, clock):
    config = config.with_(retain_final_s=86_400, events_retain_s=2 * 86_400)
    t0 = clock()
    create(store, "gone", t0)
    finish(store, "gone", t0)
    scripts = Scripts(redis_client)
    housekeeping.sweep(redis_client, scripts, config, t0 + DAY_MS + 1)

    r = client.get("/api/v1/commands/huawei/gone", headers=auth)
    assert r.status_code == 404 and "removed" in r.json["error"]["message"]
    assert "RETAIN_FINAL_S" in r.json["error"]["message"]

    housekeeping.sweep(redis_client, scripts, config, t0 + 3 * DAY_MS + 2)
    r = client.get("/api/v1/commands/huawei/gone", headers=auth)
    assert r.status_code == 404 and "removed" not in r.json["error"]["message"]
    assert redis_client.zcard(keys.REMOVED) == 0


def test_removal_is_bounded_per_sweep(store, redis_client, config, clock):
    from store import retention

    config = config.with_(retain_final_s=60)
    t0 = clock()
    for i in range(7):
        create(store, f"c{i}", t0, device=f"d{i % 3}")
        finish(store, f"c{i}", t0, device=f"d{i % 3}")
    scripts = Scripts(redis_client)

    first = retention.remove_due(redis_client, scripts, t0 + 61_000, 60, limit=4)
    second = retention.remove_due(redis_client, scripts, t0 + 61_000, 60, limit=4)

    assert sum(first.values()) == 4 and sum(second.values()) == 3
    assert redis_client.zcard(keys.DUE_RETAIN) == 0


def test_the_feed_is_trimmed_to_its_retention(store, redis_client, config, clock):
    config = config.with_(events_retain_s=3_600)
    t0 = clock()
    create(store, "c1", t0)
    create(store, "c2", t0 + 2 * 3_600_000)

    done = housekeeping.sweep(redis_client, Scripts(redis_client), config, t0 + 2 * 3_600_000)

    assert done["events"] == 1
    assert [e.command_id for e in feed.read(redis_client, feed.trimmed_up_to(redis_client),
                                            10)] == ["c2"]


def test_final_commands_from_before_retention_are_indexed_by_the_backfill(store, redis_client,
                                                                         config, clock):
    from store.stats_backfill import index_existing_final

    t0 = clock()
    create(store, "old-final", t0)
    finish(store, "old-final", t0)
    create(store, "open", t0)
    # as recorded before retention existed: on no retention index
    redis_client.delete(keys.device_final("huawei", "d1"), keys.DUE_RETAIN)

    assert index_existing_final(redis_client) == 1
    assert index_existing_final(redis_client) == 0  # safe to run again
    removed = housekeeping.sweep(redis_client, Scripts(redis_client),
                                 config.with_(retain_final_s=60), t0 + 61_000)
    assert removed["commands"] == 1 and store.get("huawei", "open") is not None

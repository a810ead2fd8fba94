"""How a command record is kept (store/lua/common.lua, `rec_load` / `rec_save`).

Given a command, its record is one MessagePack string with the ids taken from its key; a record
an older cmdkeeper wrote as a hash is read the same way and rewritten as a string when it next
changes, with nothing lost.
"""

from __future__ import annotations

import redis

from store import keys
from store.commands import NewCommand
from store.model import Event, Source, State
from store.records import read_raw
from store.script_calls import Scripts

T0 = 1_800_000_000_123  # a time whose milliseconds a float rounding would lose
KEY = keys.command("huawei", "dev:1", "c1")


def create(store, cmd: str = "c1") -> None:
    store.create_command(NewCommand(
        platform="huawei", device_id="dev:1", command_id=cmd, service_id="Valve",
        method="SET", paras={"state": 1, "note": "a;b,c"}, created_ms=T0,
        stale_at_ms=T0 + 3_600_000,
    ))


def as_legacy_hash(redis_client) -> dict[str, str]:
    """Rewrite the record as the hash an older cmdkeeper kept (ids included, long names)."""
    [flat] = read_raw(Scripts(redis_client), [KEY])
    flat["tl"] = f"P0,{T0},a,PENDING,1"  # absolute times, every status written out
    redis_client.delete(KEY)
    redis_client.hset(KEY, mapping=flat)
    return flat


def test_a_record_is_one_string_with_every_field_read_back_exactly(store, redis_client):
    create(store)
    assert redis_client.type(KEY) == "string"
    record = store.get("huawei", "c1")
    assert (record["platform"], record["device_id"], record["command_id"]) == (
        "huawei", "dev:1", "c1")
    assert record["created_at"] == T0
    assert record["stale_at"] == T0 + 3_600_000
    assert record["paras"] == {"state": 1, "note": "a;b,c"}
    assert record["state"] == "PENDING"
    assert record["origin"] == "api"


def test_the_ids_come_from_the_key_and_are_not_stored(store, redis_url):
    create(store)
    stored = redis.Redis.from_url(redis_url).get(KEY)
    assert b"dev:1" not in stored and b"huawei" not in stored


def test_a_record_is_smaller_than_the_hash_it_replaces(store, redis_client):
    create(store)
    as_string = redis_client.memory_usage(KEY)
    as_legacy_hash(redis_client)
    assert as_string < redis_client.memory_usage(KEY)


def test_a_legacy_hash_record_is_read_and_rewritten_on_its_next_change(store, redis_client):
    create(store)
    before = store.get("huawei", "c1")
    as_legacy_hash(redis_client)
    assert redis_client.type(KEY) == "hash"
    assert store.get("huawei", "c1") == before

    outcome, state = store.apply_event(
        Event("huawei", "dev:1", "c1", State.SENT, "SENT", T0 + 5, Source.CALLBACK, 0), T0 + 5)

    assert (outcome, state) == ("moved", State.SENT)
    assert redis_client.type(KEY) == "string"
    after = store.get("huawei", "c1")
    assert after["state"] == "SENT"
    assert [e["state"] for e in after["timeline"]] == ["PENDING", "SENT"]
    unchanged = {k: v for k, v in before.items()
                 if k not in ("state", "platform_status", "updated_at", "timeline")}
    assert {k: after[k] for k in unchanged} == unchanged


def test_selected_fields_read_as_empty_text_when_a_record_lacks_them(store, redis_client):
    create(store)
    rows = read_raw(Scripts(redis_client), [KEY, keys.command("huawei", "dev:1", "nope")],
                    fields=("state", "replaced_by", "created_at"))
    assert rows == [{"state": "PENDING", "replaced_by": "", "created_at": str(T0)}, {}]


def test_times_and_statuses_survive_the_compact_form(store):
    create(store)
    store.apply_event(Event("huawei", "dev:1", "c1", State.SENT, "SENT", T0 - 5_001,
                            Source.RECONCILE, 0), T0 + 1)
    store.apply_event(Event("huawei", "dev:1", "c1", State.SUCCEEDED, "SUCCESSFUL", T0 + 9_007,
                            Source.CALLBACK, 0), T0 + 9_500)
    record = store.get("huawei", "c1")
    assert [(e["state"], e["platform_status"], e["at_ms"], e["source"])
            for e in record["timeline"]] == [
        ("PENDING", "PENDING", T0, "api"), ("SENT", "SENT", T0 - 5_001, "reconcile"),
        ("SUCCEEDED", "SUCCESSFUL", T0 + 9_007, "callback")]
    assert (record["state"], record["platform_status"]) == ("SUCCEEDED", "SUCCESSFUL")
    assert record["updated_at"] == T0 + 9_500


def test_a_create_that_moves_the_creation_time_keeps_every_timeline_time(store):
    """A callback can come first (the record's creation time is then the event's); the create
    that follows sets its own, and the timeline, kept relative to it, is moved along."""
    store.apply_event(Event("huawei", "dev:1", "c1", State.SENT, "SENT", T0 + 7_000,
                            Source.CALLBACK, 0), T0 + 7_100)
    create(store)
    store.apply_event(Event("huawei", "dev:1", "c1", State.FAILED, "FAILED", T0 + 9_000,
                            Source.CALLBACK, 0), T0 + 9_100)
    record = store.get("huawei", "c1")
    assert record["created_at"] == T0
    assert [(e["state"], e["platform_status"], e["at_ms"]) for e in record["timeline"]] == [
        ("SENT", "SENT", T0 + 7_000), ("PENDING", "PENDING", T0), ("FAILED", "FAILED", T0 + 9_000)]


def test_the_backfill_packs_legacy_records_and_leaves_packed_ones(store, redis_client):
    from store.stats_backfill import pack_existing

    create(store)
    create(store, "c2")
    before = store.get("huawei", "c1")
    as_legacy_hash(redis_client)

    assert pack_existing(redis_client) == 1
    assert redis_client.type(KEY) == "string"
    assert store.get("huawei", "c1") == before
    assert pack_existing(redis_client) == 0

"""`GET /api/v1/events`: the change feed over HTTP: order, `after`, limits, long polling, and a
410 for events the feed no longer keeps."""

from __future__ import annotations

import threading
import time

from store import feed
from store.commands import NewCommand
from store.script_calls import Scripts


def create(store, command_id: str, now: int) -> None:
    store.create_command(NewCommand(
        platform="huawei", device_id="d1", command_id=command_id, service_id="Valve",
        method="SET", paras={}, created_ms=now, stale_at_ms=now + 60_000))


def test_events_oldest_first_in_pages(client, auth, store, clock):
    for i in range(3):
        create(store, f"c{i}", clock() + i)

    first = client.get("/api/v1/events?limit=2", headers=auth).json
    rest = client.get(f"/api/v1/events?after={first['next']}", headers=auth).json

    assert [e["command_id"] for e in first["items"]] == ["c0", "c1"]
    assert [e["command_id"] for e in rest["items"]] == ["c2"]
    assert rest["next"] == rest["items"][-1]["id"]
    assert set(first["items"][0]) == {"id", "type", "platform", "device_id", "command_id",
                                      "state", "previous_state", "platform_status", "source",
                                      "origin", "attempt", "at"}


def test_an_empty_feed_answers_where_to_read_from(client, auth):
    body = client.get("/api/v1/events", headers=auth).json
    assert body == {"items": [], "next": "0-0"}


def test_bad_parameters_are_400_naming_them(client, auth):
    for query, code in (("after=12", "bad_after"), ("after=", "bad_after"),
                        ("after=99999999999999999999-0", "bad_after"), ("limit=0", "bad_limit"),
                        ("limit=1001", "bad_limit"), ("wait_s=31", "bad_wait_s"),
                        ("wait_s=x", "bad_wait_s")):
        r = client.get(f"/api/v1/events?{query}", headers=auth)
        assert (r.status_code, r.json["error"]["code"]) == (400, code), query
    assert client.get("/api/v1/events").status_code == 401


def test_a_long_poll_answers_as_soon_as_an_event_arrives(client, auth, store, clock):
    create(store, "c0", clock())
    after = client.get("/api/v1/events", headers=auth).json["next"]
    timer = threading.Timer(0.3, create, (store, "c1", clock() + 1))
    timer.start()
    started = time.monotonic()
    try:
        body = client.get(f"/api/v1/events?after={after}&wait_s=20", headers=auth).json
    finally:
        timer.join()
    assert [e["command_id"] for e in body["items"]] == ["c1"]
    assert time.monotonic() - started < 15  # it did not sit out the whole wait


def test_a_long_poll_with_nothing_new_answers_empty_after_its_wait(client, auth, store, clock):
    create(store, "c0", clock())
    after = client.get("/api/v1/events", headers=auth).json["next"]
    started = time.monotonic()
    body = client.get(f"/api/v1/events?after={after}&wait_s=1", headers=auth).json
    assert body == {"items": [], "next": after}
    assert time.monotonic() - started >= 0.9


def test_reading_from_before_what_is_kept_is_410_saying_how_far_back(client, auth, store,
                                                                     redis_client, clock):
    now = clock()
    create(store, "old", now)
    create(store, "new", now + 120_000)
    old_id = feed.read(redis_client, None, 1)[0].id
    feed.trim(redis_client, Scripts(redis_client), now + 150_000, retain_s=60)

    r = client.get("/api/v1/events?after=0-0", headers=auth)

    assert r.status_code == 410 and r.json["error"]["code"] == "gone"
    assert "oldest kept event" in r.json["error"]["message"]
    assert f"after={old_id}" in r.json["error"]["message"]
    resumed = client.get(f"/api/v1/events?after={old_id}", headers=auth).json
    assert [e["command_id"] for e in resumed["items"]] == ["new"]

"""`commands PLATFORM DEVICE`: the device's commands as a table, newest first, or as JSON."""

from __future__ import annotations

import json

from store.commands import NewCommand
from store.model import Event, Source, State
from tests.cli.conftest import now_ms

HOUR_MS = 3_600_000


def record(store, device: str, command_id: str, created_ms: int) -> None:
    store.create_command(NewCommand("huawei", device, command_id, "Valve", "SET", {"open": 1},
                                    created_ms, created_ms + HOUR_MS))


def test_the_table_lists_commands_newest_first_with_who_set_their_state(run, store):
    t0 = now_ms() - 3 * HOUR_MS
    for i, command_id in enumerate(("c-old", "c-mid", "c-new")):
        record(store, "valve-1", command_id, t0 + i * HOUR_MS)
    store.apply_event(Event("huawei", "valve-1", "c-mid", State.SENT, "SENT", t0 + 2 * HOUR_MS,
                            Source.CALLBACK), t0 + 2 * HOUR_MS)

    result = run("commands", "huawei", "valve-1")

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["COMMAND", "STATE", "PLATFORM", "STATUS", "CREATED", "UPDATED",
                              "STALE", "AT", "SOURCE"]
    assert [r.split()[0] for r in rows] == ["c-new", "c-mid", "c-old"]
    mid = rows[1].split()
    assert mid[1:3] == ["SENT", "SENT"] and mid[-1] == "callback"
    assert rows[0].split()[1] == "PENDING" and rows[0].split()[-1] == "api"


def test_limit_state_filter_and_json(run, store):
    t0 = now_ms() - HOUR_MS
    for i in range(5):
        record(store, "valve-2", f"c{i}", t0 + i * 1000)
    store.apply_event(Event("huawei", "valve-2", "c1", State.SUCCEEDED, "SUCCESSFUL", t0 + 9000,
                            Source.CALLBACK), t0 + 9000)

    limited = run("commands", "huawei", "valve-2", "--limit", "2")
    assert [r.split()[0] for r in limited.stdout.splitlines()[1:]] == ["c4", "c3"]

    as_json = run("commands", "huawei", "valve-2", "--state", "SUCCEEDED", "--json")
    items = json.loads(as_json.stdout)["items"]
    assert [i["command_id"] for i in items] == ["c1"]
    assert items[0]["state"] == "SUCCEEDED" and items[0]["created_at"].endswith("Z")

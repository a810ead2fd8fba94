"""IoTDA records in the API: cmdkeeper names them, so `platform_command_id` says which id the
platform knows (none while held back); on the other platforms it is the command id itself."""

from __future__ import annotations

from store.commands import NewCommand
from store.model import HELD_STATUS


def test_platform_command_id_is_the_platforms_id_or_none_while_held(client, auth, store, clock):
    now = clock()
    store.create_command(NewCommand("iotda", "d1", "ck-1", "Valve", "SET", {}, now, now + 60_000,
                                    platform_command_id="p-1"), in_flight_limit=1)
    assert store.hold_unless_room(NewCommand("iotda", "d1", "ck-2", "Valve", "SET", {}, now,
                                             now + 60_000, platform_status=HELD_STATUS),
                                  in_flight_limit=1, supersede=False, now_ms=now)[0]
    store.create_command(NewCommand("huawei", "d1", "h-1", "Valve", "SET", {}, now, now + 60_000))

    def record(platform: str, command_id: str) -> dict:
        response = client.get(f"/api/v1/commands/{platform}/{command_id}", headers=auth)
        assert response.status_code == 200
        return response.json

    assert record("iotda", "ck-1")["platform_command_id"] == "p-1"
    held = record("iotda", "ck-2")
    assert (held["state"], held["platform_status"], held["platform_command_id"]) == (
        "PENDING", "HELD", None)
    assert record("huawei", "h-1")["platform_command_id"] == "h-1"
    # the platform's id is not a record of its own
    assert client.get("/api/v1/commands/iotda/p-1", headers=auth).status_code == 404

"""OneNET cached-command endpoints: auth, create, validation, limits, history, detail, cancel."""

from __future__ import annotations

import pytest

from platforms.formats import ms_to_onenet
from tests.emulator.helpers import HOUR_MS

IMEI = "869975031234561"


@pytest.fixture
def imei(emu):
    emu.add_device("onenet", IMEI, wake_period_s=0)
    return IMEI


def errno(r) -> int:
    assert r.status_code == 200
    return r.json()["errno"]


def test_auth_missing_key_is_errno_2_and_a_wrong_key_errno_3(onenet, imei, start_ms):
    missing = onenet.call("GET", "/nbiot/offline/history", {"imei": imei}, key=None)
    wrong = onenet.call("GET", "/nbiot/offline/history", {"imei": imei}, key="wrong")

    assert missing.json() == {"errno": 2, "error": "api-key required"}
    assert errno(wrong) == 3


def test_read_write_execute_answer_a_uuid_in_the_envelope(onenet, imei, start_ms):
    expired = ms_to_onenet(start_ms + HOUR_MS)
    common = {"imei": imei, "obj_id": 3311, "obj_inst_id": 0, "expired_time": expired}

    read = onenet.read(imei, start_ms)
    write = onenet.call("POST", "/nbiot/offline", {**common, "mode": 2},
                        json={"data": [{"res_id": 5850, "val": True}]})
    execute = onenet.call("POST", "/nbiot/execute/offline", {**common, "res_id": 5523},
                          json={"args": "ping"})

    for r in (read, write, execute):
        body = r.json()
        assert body["errno"] == 0 and body["error"] == "succ"
        assert len(body["data"]["uuid"]) == 36
    types = [onenet.detail(imei, r.json()["data"]["uuid"])["type"] for r in (read, write, execute)]
    assert types == ["READ", "WRITE", "EXECUTE"]


@pytest.mark.parametrize("params, expected", [
    ({"imei": None}, 6),
    ({"expired_time": None}, 6),
    ({"obj_id": "x"}, 6),
    ({"expired_time": "tomorrow"}, 6),
    ({"retry": 11}, 5006),
    ({"timeout": 4}, 5006),
    ({"timeout": 41}, 5006),
    ({"trigger_msg": 8}, 5006),
    ({"expired_time": "2023-12-31T00:00:00"}, 5006),
    ({"valid_time": "2023-12-31T00:00:00"}, 5006),
    ({"imei": "000000000000000"}, 8),
])
def test_create_rejects_bad_parameters(onenet, imei, start_ms, params, expected):
    r = onenet.read(imei, start_ms, **params)

    assert errno(r) == expected
    assert r.json()["error"]


def test_write_and_execute_check_their_specific_parameters(onenet, imei, start_ms):
    common = {"imei": imei, "obj_id": 3311, "obj_inst_id": 0,
              "expired_time": ms_to_onenet(start_ms + HOUR_MS)}

    no_mode = onenet.call("POST", "/nbiot/offline", common, json={"data": [{"res_id": 1,
                                                                           "val": 1}]})
    bad_json = onenet.call("POST", "/nbiot/offline", {**common, "mode": 1}, data="{nope")
    empty = onenet.call("POST", "/nbiot/offline", {**common, "mode": 1}, json={"data": []})
    too_big = onenet.call("POST", "/nbiot/offline", {**common, "mode": 1},
                          json={"data": [{"res_id": 1, "val": "x" * 2100}]})
    no_res = onenet.call("POST", "/nbiot/execute/offline", common)

    assert [errno(r) for r in (no_mode, bad_json, empty, too_big, no_res)] == [6, 4, 6, 5006, 6]


def test_a_device_holds_at_most_10_cached_commands(onenet, imei, start_ms):
    uuids = [onenet.uuid(imei, start_ms) for _ in range(10)]

    over = onenet.read(imei, start_ms)
    onenet.call("PUT", f"/nbiot/offline/cancel/{uuids[0]}", {"imei": imei})
    after_cancel = onenet.read(imei, start_ms)

    assert errno(over) == 5006
    assert errno(after_cancel) == 0


def test_history_items_pages_sorts_and_windows(onenet, emu, imei, start_ms):
    first = [onenet.uuid(imei, start_ms) for _ in range(3)]
    now = emu.advance(600)
    later = onenet.uuid(imei, now)
    q = {"imei": imei, "start": ms_to_onenet(start_ms)}

    desc = onenet.call("GET", "/nbiot/offline/history", {**q, "page": 1, "per_page": 3}).json()
    asc = onenet.call("GET", "/nbiot/offline/history", {**q, "sort": "ASC", "page": 2,
                                                        "per_page": 3}).json()
    window = onenet.call("GET", "/nbiot/offline/history",
                         {"imei": imei, "start": ms_to_onenet(start_ms + 300_000)}).json()
    ended = onenet.call("GET", "/nbiot/offline/history",
                        {**q, "end": ms_to_onenet(start_ms + 1000)}).json()
    one = onenet.call("GET", "/nbiot/offline/history", {**q, "uuid": first[1]}).json()

    assert desc["data"]["total_count"] == 4
    assert [i["cmd_uuid"] for i in desc["data"]["items"]] == [later, first[2], first[1]]
    assert [i["cmd_uuid"] for i in asc["data"]["items"]] == [later]
    assert [i["cmd_uuid"] for i in window["data"]["items"]] == [later]
    assert ended["data"]["total_count"] == 3
    assert [i["cmd_uuid"] for i in one["data"]["items"]] == [first[1]]
    item = desc["data"]["items"][0]
    assert item == {"cmd_uuid": later, "type": "READ", "create_time": "2024-01-01 08:10:00",
                    "valid_time": "2024-01-01 08:10:00", "expired_time": "2024-01-01 09:10:00",
                    "trigger_msg": 7, "send_status": 1, "imei": imei, "remain": 3}


@pytest.mark.parametrize("params, expected", [({"start": None}, 6), ({"sort": "UP"}, 6),
                                              ({"per_page": 101}, 6), ({"imei": "1"}, 8)])
def test_history_rejects_bad_parameters(onenet, imei, start_ms, params, expected):
    q = {"imei": imei, "start": ms_to_onenet(start_ms), **params}

    r = onenet.call("GET", "/nbiot/offline/history", {k: v for k, v in q.items() if v})

    assert errno(r) == expected


def test_detail_shows_args_and_content_and_unknown_is_errno_8(onenet, imei, start_ms):
    uuid = onenet.uuid(imei, start_ms, retry=5)

    detail = onenet.detail(imei, uuid)
    unknown = onenet.call("GET", "/nbiot/offline/history/nope", {"imei": imei})
    other_imei = onenet.call("GET", f"/nbiot/offline/history/{uuid}", {"imei": "1"})

    assert "cmd_uuid" not in detail and detail["remain"] == 5
    assert detail["args"]["retry"] == "5" and detail["args"]["obj_id"] == "3303"
    assert detail["content"] == {} and detail["feedback_msg"] == []
    assert errno(unknown) == 8 and errno(other_imei) == 8


def test_cancel_one_works_only_while_waiting(onenet, emu, imei, start_ms):
    uuid = onenet.uuid(imei, start_ms)

    r = onenet.call("PUT", f"/nbiot/offline/cancel/{uuid}", {"imei": imei})
    again = onenet.call("PUT", f"/nbiot/offline/cancel/{uuid}", {"imei": imei})
    unknown = onenet.call("PUT", "/nbiot/offline/cancel/nope", {"imei": imei})

    assert r.json() == {"errno": 0, "error": "succ"}
    assert errno(again) == 5006 and errno(unknown) == 8
    assert onenet.detail(imei, uuid)["send_status"] == 2
    assert [h["status"] for h in emu.command("onenet", uuid)["history"]] == [1, 2]


def test_cancel_all_cancels_the_waiting_and_reports_the_sent(onenet, emu, imei, start_ms):
    emu.update_device("onenet", imei, result_delay_s=10)
    sent = onenet.uuid(imei, start_ms)
    waiting = [onenet.uuid(imei, start_ms) for _ in range(2)]
    emu.wake("onenet", imei)

    r = onenet.call("PUT", "/nbiot/offline/cancel/all", {"imei": imei})

    assert r.json()["errno"] == 0
    assert r.json()["data"] == {"succ": waiting, "failed": [sent], "total": 3}
    assert [onenet.detail(imei, u)["send_status"] for u in [sent, *waiting]] == [3, 2, 2]

"""IoTDA v5 cached commands in the emulator, through the official SDK: create, show, the queue
and history lists with their paging, the 20-PENDING cap, expire_time, in-order delivery."""

from __future__ import annotations

import pytest

from platforms.formats import iotda_to_ms, ms_to_iotda
from tests.emulator.iotda_sdk import DEVICE, refused

DAY_S = 86400


def test_a_cached_command_waits_for_the_device_then_runs_to_success(iotda, start_ms):
    iotda.add_device()
    created = iotda.create(expire_time=600)
    assert (created.status, created.send_strategy, created.expire_time) == ("PENDING", "delay",
                                                                             600)
    assert iotda_to_ms(created.created_time) == start_ms and created.device_id == DEVICE

    iotda.emu.advance(300)
    assert iotda.show(created.command_id).status == "PENDING"  # asleep: nothing is sent
    iotda.emu.wake("iotda", DEVICE)
    iotda.emu.advance(5)

    shown = iotda.show(created.command_id)
    assert shown.status == "SUCCESSFUL" and shown.paras == {"state": 1}
    assert shown.result == {"result_code": 0}
    sent, delivered, answered = (iotda_to_ms(t) for t in (shown.sent_time, shown.delivered_time,
                                                          shown.response_time))
    assert start_ms + 300_000 <= sent < delivered < answered
    assert iotda.statuses(created.command_id) == ["PENDING", "SENT", "DELIVERED", "SUCCESSFUL"]


def test_an_awake_idle_device_gets_it_at_once(iotda):
    iotda.add_device()
    iotda.emu.wake("iotda", DEVICE)
    assert iotda.create().status == "SENT"


@pytest.mark.parametrize("given,applied", [(None, DAY_S), (0, DAY_S), (172800, 172800)])
def test_expire_time_absent_or_zero_is_a_day_and_expires_the_pending_command(iotda, given,
                                                                             applied):
    iotda.add_device()
    cmd = iotda.create(**({} if given is None else {"expire_time": given}))
    assert cmd.expire_time == applied
    iotda.emu.advance(applied - 1)
    assert iotda.show(cmd.command_id).status == "PENDING"
    iotda.emu.advance(1)
    assert iotda.show(cmd.command_id).status == "EXPIRED"
    assert [c.command_id for c in iotda.history(status="EXPIRED").commands] == [cmd.command_id]


@pytest.mark.parametrize("expire", [172801, -1])
def test_expire_time_beyond_two_days_or_negative_is_refused(iotda, expire):
    iotda.add_device()
    e = refused(lambda: iotda.create(expire_time=expire))
    assert (e.status_code, e.error_code) == (400, "IOTDA.000006")
    assert iotda.emu.truth("iotda") == []


def test_at_most_20_pending_per_device_the_21st_is_refused_with_its_own_code(iotda):
    iotda.add_device()
    first = [iotda.create(name=f"C{i}").command_id for i in range(20)]
    e = refused(lambda: iotda.create(name="C20"))
    assert (e.status_code, e.error_code) == (400, "IOTDA.014108")
    assert "20" in e.error_msg and e.request_id
    assert iotda.queue().page.count == 20
    # `immediately` is never cached, so the cap does not apply to it
    assert iotda.create(name="now", send_strategy="immediately").status == "SENT"
    # once one has left PENDING, there is room again
    iotda.emu.wake("iotda", DEVICE)
    assert iotda.show(first[0]).status != "PENDING"
    assert iotda.create(name="C20").status == "PENDING"


def test_cached_commands_go_one_at_a_time_in_order(iotda):
    iotda.add_device(ack_delay_s=2, result_delay_s=3, awake_s=120)
    ids = [iotda.create(name=f"C{i}").command_id for i in range(3)]
    iotda.emu.wake("iotda", DEVICE)
    iotda.emu.advance(60)
    truth = {c["command_id"]: c for c in iotda.emu.truth("iotda")}
    for before, after in zip(ids, ids[1:], strict=False):
        done = [h["at_ms"] for h in truth[before]["history"] if h["status"] == "SUCCESSFUL"][0]
        assert done <= truth[after]["first_sent_ms"]
    assert [truth[i]["status"] for i in ids] == ["SUCCESSFUL"] * 3


def test_immediately_to_a_sleeping_device_fails_and_ignores_expire_time(iotda):
    iotda.add_device()
    cmd = iotda.create(send_strategy="immediately", expire_time=600)
    assert (cmd.status, cmd.expire_time) == ("SENT", 0)
    assert iotda.show(cmd.command_id).status == "FAILED"
    assert iotda.emu.command("iotda", cmd.command_id)["expire_ms"] is None


def test_immediately_to_an_awake_device_does_not_wait_behind_the_cache(iotda):
    iotda.add_device(result_delay_s=30, awake_s=120)
    iotda.emu.wake("iotda", DEVICE)
    iotda.create(name="first")  # occupies the device's queue for 31 s
    behind = iotda.create(name="behind")
    now = iotda.create(name="now", send_strategy="immediately")
    iotda.emu.advance(3)
    assert iotda.statuses(now.command_id) == ["SENT", "DELIVERED"]
    assert iotda.show(behind.command_id).status == "PENDING"


def test_no_ack_times_out_after_the_retransmission_window(iotda):
    iotda.add_device(no_answer_p=1)
    cmd = iotda.create()
    iotda.emu.wake("iotda", DEVICE)
    iotda.emu.advance(79)
    assert iotda.show(cmd.command_id).status == "SENT"
    iotda.emu.advance(42)
    assert iotda.show(cmd.command_id).status == "TIMEOUT"


def test_queue_holds_pending_sent_delivered_and_history_the_rest(iotda):
    iotda.add_device(result_delay_s=2 * DAY_S, awake_s=3 * DAY_S)
    waiting = iotda.create(name="waiting", expire_time=60)
    iotda.emu.wake("iotda", DEVICE)  # sends "waiting": DELIVERED for two days
    iotda.emu.advance(5)
    later = iotda.create(name="later", expire_time=172800)  # PENDING behind it
    assert {c.command_name: c.status for c in iotda.queue().commands} == {
        "waiting": "DELIVERED", "later": "PENDING"}
    assert iotda.history().commands == []
    # a DELIVERED command left without an update moves to history
    iotda.emu.advance(DAY_S)
    assert [c.command_id for c in iotda.queue().commands] == [later.command_id]
    assert [(c.command_id, c.status) for c in iotda.history().commands] == [
        (waiting.command_id, "DELIVERED")]


def test_paging_is_newest_first_by_marker_and_offset(iotda):
    iotda.add_device()
    # `immediately` to a sleeping device fails at once: history grows past any cap
    ids = [iotda.create(name=f"C{i}", send_strategy="immediately").command_id for i in range(60)]
    newest_first = ids[::-1]

    first = iotda.history(limit=50)
    assert [c.command_id for c in first.commands] == newest_first[:50]
    second = iotda.history(limit=50, marker=first.page.marker)
    assert [c.command_id for c in second.commands] == newest_first[50:]
    assert iotda.history(limit=50, marker=second.page.marker).commands == []
    ten = iotda.history()  # 10 by default
    assert [c.command_id for c in ten.commands] == newest_first[:10]
    skipped = iotda.history(limit=5, offset=20, marker=ten.page.marker)  # offset after marker
    assert [c.command_id for c in skipped.commands] == newest_first[30:35]
    assert [c.command_id for c in iotda.history(limit=5, offset=7).commands] == \
        newest_first[7:12]


@pytest.mark.parametrize("params,code", [
    ({"limit": 0}, "IOTDA.000017"), ({"limit": 51}, "IOTDA.000017"),
    ({"offset": 501}, "IOTDA.000018"), ({"marker": "not-a-record"}, "IOTDA.000006"),
    ({"start_time": "2024-01-01"}, "IOTDA.000009"),
    ({"start_time": "20240102T000000Z", "end_time": "20240101T000000Z"}, "IOTDA.000010"),
    ({"status": "CANCELED"}, "IOTDA.000006"),
])
def test_bad_list_parameters_are_refused(iotda, params, code):
    iotda.add_device()
    e = refused(lambda: iotda.queue(**params))
    assert (e.status_code, e.error_code) == (400, code)


def test_lists_filter_on_creation_time_status_and_name(iotda, start_ms):
    iotda.add_device()
    old = iotda.create(name="A")
    iotda.emu.advance(3600)
    new = iotda.create(name="B")
    since = ms_to_iotda(start_ms + 1_800_000)
    assert [c.command_id for c in iotda.queue(start_time=since).commands] == [new.command_id]
    assert [c.command_id for c in iotda.queue(end_time=since).commands] == [old.command_id]
    assert [c.command_id for c in iotda.queue(command_name="A").commands] == [old.command_id]
    assert iotda.queue(status="SENT").commands == [] and iotda.queue().page.count == 2


def test_unknown_device_and_command_are_404(iotda):
    iotda.add_device()
    e = refused(lambda: iotda.create(device_id="nobody"))
    assert (e.status_code, e.error_code) == (404, "IOTDA.014000")
    e = refused(lambda: iotda.show("no-such-command"))
    assert (e.status_code, e.error_code) == (404, "IOTDA.014002")
    assert e.request_id


def test_there_is_no_cancel(iotda, iotda_emulator):
    iotda.add_device()
    cmd = iotda.create()
    base = f"{iotda.url}/v5/iot/demo-project/devices/{DEVICE}/async-commands/{cmd.command_id}"
    for method in ("PUT", "DELETE"):
        r = iotda.emu.http.request(method, base, json={"status": "CANCELED"}, timeout=5)
        assert r.status_code == 405
    assert iotda.show(cmd.command_id).status == "PENDING"

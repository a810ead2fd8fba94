"""The dashboard as a console, through Flask's test client: the lists that find commands and
devices (store/discovery.py behind them), and the actions (a confirmation page, then a POST that
must carry the session's CSRF token), each recorded with who asked."""

from __future__ import annotations

import re
import time

import pytest

from app import create_app
from cmdkeeper.clock import ManualClock
from dashboard.auth import COOKIE, CSRF_FIELD, csrf_token, session_value
from store import actions, discovery
from store.commands import NewCommand
from store.model import Event, Source, State
from tests.cli.conftest import queued_jobs
from tests.cli.test_dead_letters import broker, dead_letter  # noqa: F401  (a fixture)
from tests.conftest import API_TOKEN

HOUR_MS = 3_600_000


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
def client(config, clock, redis_client):
    app = create_app(config.with_(huawei_base_url="http://127.0.0.1:9", huawei_app_id="a",
                                  huawei_secret="s", reconcile_after_s=900), clock=clock)
    return app.test_client()


@pytest.fixture
def session(client, clock) -> str:
    value = session_value(API_TOKEN, clock())
    client.set_cookie(COOKIE, value)
    return value


@pytest.fixture
def fleet(store, clock):
    """dev-a: c1 (SENT, its last change the newest), dev-o: c2 (onenet, PENDING), dev-b: c3
    (PENDING, stale), and c9 learned from a callback."""
    t = clock()
    store.create_command(NewCommand("huawei", "dev-a", "c1", "Valve", "SET", {"open": 1}, t,
                                    t + HOUR_MS))
    store.create_command(NewCommand("onenet", "dev-o", "c2", "", "READ", {"obj_id": 3}, t + 1,
                                    t + HOUR_MS))
    store.create_command(NewCommand("huawei", "dev-b", "c3", "Valve", "SET", {}, t + 2, t + 3))
    store.apply_event(Event("huawei", "dev-a", "c1", State.SENT, "SENT", t + 4,
                            Source.CALLBACK), t + 4)
    store.apply_event(Event("huawei", "dev-u", "c9", State.DELIVERED, "DELIVERED", t + 5,
                            Source.CALLBACK), t + 5)
    clock.advance(10)
    return store


def ids(page: str, table: str) -> list[str]:
    start = page.index(f'id="{table}"')
    return re.findall(r'<tr id="row-([^"]+)"', page[start:page.index("</table>", start)])


def test_recent_commands_newest_change_first_each_once_and_filtered(client, session, fleet):
    page = client.get("/commands").get_data(as_text=True)
    assert ids(page, "commands") == ["c9", "c1", "c3", "c2"]
    assert ids(client.get("/commands?platform=onenet").get_data(True), "commands") == ["c2"]
    assert ids(client.get("/commands?state=PENDING").get_data(True), "commands") == ["c3", "c2"]
    assert ids(client.get("/commands?origin=unknown").get_data(True), "commands") == ["c9"]
    assert ids(client.get("/commands?origin=api&platform=huawei").get_data(True),
               "commands") == ["c1", "c3"]


def test_every_list_pages(fleet, redis_client, clock):
    first = discovery.recent(redis_client, limit=2)
    assert [r["command_id"] for r in first.rows] == ["c9", "c1"]
    rest = discovery.recent(redis_client, before=first.next, limit=2)
    assert [r["command_id"] for r in rest.rows] == ["c3", "c2"]
    assert discovery.recent(redis_client, before=rest.next, limit=2).rows == []
    devices = discovery.open_devices(redis_client, limit=2)
    assert len(devices.rows) == 2 and devices.next == 2
    assert len(discovery.open_devices(redis_client, offset=2, limit=2).rows) == 2
    assert [s.command_id for s in discovery.stale(redis_client, clock()).rows] == ["c3"]


def test_stale_stuck_and_devices_pages(client, session, fleet, clock):
    stale = client.get("/stale").get_data(as_text=True)
    assert 'href="/devices/huawei/dev-b#cmd-c3"' in stale
    devices = client.get("/devices").get_data(as_text=True)
    for device in ("dev-a", "dev-o", "dev-b", "dev-u"):
        assert f'href="/devices/{"onenet" if device == "dev-o" else "huawei"}/{device}"' in devices
    assert "No command is stuck" in client.get("/stuck").get_data(as_text=True)  # all recent
    clock.advance(3600)  # quiet for an hour: past RECONCILE_AFTER_S
    stuck = client.get("/stuck").get_data(as_text=True)
    # c2 waits for its own stale deadline, which the clock keeps: not stuck
    assert ids(stuck, "stuck") == ["c3", "c1", "c9"]
    assert "no answer from the device yet" in stuck and "stale for long" in stuck


def test_a_revocation_is_confirmed_then_asked_with_the_csrf_token(client, session, fleet,
                                                                   redis_client):
    confirm = client.get("/actions/revoke/huawei/dev-b")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "<code>c3</code> — stale since" in page and 'name="confirm" value="yes"' in page
    token = csrf_token(API_TOKEN, session)
    assert f'name="{CSRF_FIELD}" value="{token}"' in page

    done = client.post("/actions/revoke/huawei/dev-b", data={CSRF_FIELD: token,
                                                             "confirm": "yes"})
    assert done.status_code == 302
    assert done.headers["Location"] == "/devices/huawei/dev-b?done=revoke"
    assert ("revoke_device", ("huawei", "dev-b", True, "dashboard"), {}) in queued_jobs(
        redis_client)
    [asked] = actions.read(redis_client, "huawei", "dev-b")
    assert (asked.by, asked.action) == ("dashboard", "revoke")
    device = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="done"' in device and "dashboard asked to revoke its stale commands" in device


@pytest.mark.parametrize("form", [{}, {CSRF_FIELD: "forged"}, {CSRF_FIELD: ""}])
def test_a_post_without_the_session_s_token_does_nothing(client, session, fleet, redis_client,
                                                        form):
    r = client.post("/actions/revoke/huawei/dev-b", data={**form, "confirm": "yes"})
    assert r.status_code == 403 and "security token" in r.get_data(as_text=True)
    r = client.post("/actions/reconcile/huawei/dev-b", data={**form, "confirm": "yes"})
    assert r.status_code == 403
    assert queued_jobs(redis_client) == []
    assert actions.read(redis_client, "huawei", "dev-b") == []


def test_another_session_s_token_does_not_do(client, fleet, clock, redis_client):
    client.set_cookie(COOKIE, session_value(API_TOKEN, clock()))
    other = csrf_token(API_TOKEN, session_value(API_TOKEN, clock() - 60_000))
    r = client.post("/actions/reconcile/huawei/dev-a", data={CSRF_FIELD: other, "confirm": "yes"})
    assert r.status_code == 403 and queued_jobs(redis_client) == []


def test_a_reconcile_asked_from_the_page_and_the_bearer_token_needs_no_form_token(
        client, fleet, auth, redis_client):
    r = client.post("/actions/reconcile/huawei/dev-a", data={"confirm": "yes"}, headers=auth)
    assert r.status_code == 302
    assert ("reconcile_device", ("huawei", "dev-a", True), {}) in queued_jobs(redis_client)
    assert [a.action for a in actions.read(redis_client, "huawei", "dev-a")] == ["reconcile"]


def test_actions_on_what_cannot_be_done_say_so(client, session, fleet, redis_client):
    assert client.get("/actions/revoke/huawei/nobody").status_code == 404
    assert client.get("/actions/revoke/acme/dev-a").status_code == 404
    onenet = client.get("/actions/revoke/onenet/dev-o")  # onenet is not configured here
    assert onenet.status_code == 400 and "not configured" in onenet.get_data(as_text=True)
    nothing = client.get("/actions/revoke/huawei/dev-a").get_data(as_text=True)
    assert "Nothing to revoke" in nothing and 'id="confirm-form"' not in nothing
    # a POST that skipped the confirmation step only shows it
    token = csrf_token(API_TOKEN, client.get_cookie(COOKIE).value)
    r = client.post("/actions/revoke/huawei/dev-b", data={CSRF_FIELD: token})
    assert r.status_code == 200 and 'id="confirm-form"' in r.get_data(as_text=True)
    assert queued_jobs(redis_client) == []


def test_a_dead_letter_is_replayed_from_the_page(client, session, broker,  # noqa: F811
                                                 store, redis_client, clock):
    from workers import actors as worker_actors

    store.create_command(NewCommand("huawei", "dev-r", "c1", "S", "M", {}, clock(), clock()))
    store.request_reconcile("huawei", "dev-r", clock())
    letter = dead_letter(broker, worker_actors.reconcile_device, "huawei", "dev-r", True)
    page = client.get("/dead-letters").get_data(as_text=True)
    assert f'href="/actions/replay/{letter}"' in page and "dev-r" in page
    confirm = client.get(f"/actions/replay/{letter}").get_data(as_text=True)
    assert "<strong>replay</strong>" in confirm
    token = csrf_token(API_TOKEN, session)
    r = client.post(f"/actions/replay/{letter}", data={CSRF_FIELD: token, "confirm": "yes"})
    assert r.status_code == 302 and "/dead-letters?done=replay" in r.headers["Location"]
    assert ("reconcile_device", ("huawei", "dev-r", True), {}) in queued_jobs(redis_client)
    assert [(a.by, a.action) for a in actions.read(redis_client, "huawei", "dev-r")] == [
        ("dashboard", "replay")]
    assert "No dead letters" in client.get("/dead-letters").get_data(as_text=True)

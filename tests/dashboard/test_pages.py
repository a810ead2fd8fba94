"""The dashboard through Flask's test client: who gets in, and what the pages say."""

from __future__ import annotations

import logging
import time

import pytest

from cmdkeeper.clock import ManualClock
from dashboard.auth import COOKIE, session_value
from store.commands import NewCommand
from store.model import Event, Source, State
from tests.conftest import API_TOKEN


@pytest.fixture
def clock() -> ManualClock:
    # "the last hour" is counted in per-minute buckets of the real time
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
def fleet(store, clock):
    """dev-a: one command delivered and succeeded (with a duplicate), one PENDING, fresh;
    dev-b: one PENDING already stale, revoked."""
    now = clock()
    for device, command, stale_at in (("dev-a", "c-done", now + 3_600_000),
                                      ("dev-a", "c-wait", now + 40_000),
                                      ("dev-b", "c-stale", now + 1_000)):
        store.create_command(NewCommand("huawei", device, command, "Valve", "SET", {"open": 1},
                                        now, stale_at))
    for status, state in (("SENT", State.SENT), ("DELIVERED", State.DELIVERED),
                          ("SUCCESSFUL", State.SUCCEEDED), ("DELIVERED", State.DELIVERED)):
        clock.advance(1)
        store.apply_event(Event("huawei", "dev-a", "c-done", state, status, clock(),
                                Source.CALLBACK), clock())
    clock.advance(2)
    store.apply_event(Event("huawei", "dev-b", "c-stale", State.CANCELED, "CANCELED", clock(),
                            Source.REVOKE), clock())
    return store


def signed_in(client):
    client.set_cookie(COOKIE, session_value(API_TOKEN))
    return client


def test_a_visitor_is_sent_to_the_login_page(client):
    r = client.get("/devices/huawei/dev-a")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=/devices/huawei/dev-a"


def test_signing_in_sets_a_cookie_derived_from_the_token_never_the_token(client, caplog):
    caplog.set_level(logging.DEBUG)
    r = client.post("/login", data={"token": API_TOKEN, "next": "/devices/huawei/dev-a"})
    assert r.status_code == 302 and r.headers["Location"] == "/devices/huawei/dev-a"
    cookie = r.headers["Set-Cookie"]
    assert f"{COOKIE}={session_value(API_TOKEN)}" in cookie
    assert API_TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert API_TOKEN not in caplog.text


def test_a_wrong_token_is_refused_and_changes_nothing(client):
    r = client.post("/login", data={"token": "guess", "next": "/"})
    assert r.status_code == 401
    assert "That is not the API token." in r.get_data(as_text=True)
    assert "Set-Cookie" not in r.headers
    assert client.get("/").status_code == 302


def test_a_forged_cookie_or_next_url_gets_nowhere(client):
    client.set_cookie(COOKIE, API_TOKEN)  # the token itself is not the cookie
    assert client.get("/").status_code == 302
    r = client.post("/login", data={"token": API_TOKEN, "next": "//evil.example/"})
    assert r.headers["Location"] == "/"


def test_a_bearer_token_works_too_and_logout_ends_the_session(client, auth, fleet):
    assert client.get("/", headers=auth).status_code == 200
    signed_in(client)
    assert client.get("/").status_code == 200
    r = client.post("/logout")
    assert r.status_code == 302 and f"{COOKIE}=;" in r.headers["Set-Cookie"]
    assert client.get("/").status_code == 302


def test_the_fleet_page_counts_states_stale_and_revocations(client, fleet, clock):
    clock.advance(60)  # c-wait is now stale too
    page = signed_in(client).get("/").get_data(as_text=True)
    assert '<div class="n" id="stale">1</div>' in page
    assert '<div class="n" id="revocations">1</div>' in page
    assert "<td>huawei</td>" in page
    # PENDING 1, SUCCEEDED 1, CANCELED 1 for huawei
    row = page[page.index("<td>huawei</td>"):page.index("</tr>", page.index("<td>huawei</td>"))]
    assert [c.split(">")[1] for c in row.split('<td class="num"')[1:]] == \
        ["1</td", "0</td", "0</td", "1</td", "0</td", "0</td", "1</td", "3</td"]
    assert "dev-a" in page  # next revocations lists the device with a PENDING command


def test_the_device_page_draws_each_timeline_and_says_why_a_command_waits(client, fleet):
    page = signed_in(client).get("/devices/huawei/dev-a").get_data(as_text=True)
    done = page[page.index('id="cmd-c-done"'):]
    done = done[:done.index("</section>")]
    steps = [s.split(">")[1].split("<")[0] for s in done.split('<span class="dot badge')[1:]]
    assert steps == ["PENDING", "SENT", "DELIVERED", "SUCCEEDED", "DELIVERED"]
    assert done.count('class="ignored"') == 1 and "callback · ignored" in done
    assert "Why is it stuck?" not in done
    waiting = page[page.index('id="cmd-c-wait"'):]
    assert "Why is it stuck?</strong> Waiting for the device to wake. Becomes stale at" in waiting


def test_an_unknown_device_is_a_page_not_a_traceback(client, fleet):
    r = signed_in(client).get("/devices/huawei/nobody")
    assert r.status_code == 404 and "holds no command for huawei device" in r.get_data(True)
    assert signed_in(client).get("/devices/acme/x").status_code == 404


def test_hostile_device_ids_are_escaped(client, store, clock):
    hostile = "<img src=x onerror=alert(1)>"
    store.create_command(NewCommand("huawei", hostile, "c1", "S", "M", {}, clock(), clock()))
    r = signed_in(client).get("/devices/huawei/%3Cimg%20src=x%20onerror=alert(1)%3E")
    assert r.status_code == 200
    assert hostile not in r.get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.get_data(as_text=True)


def test_the_search_box_leads_to_the_device_page(client, fleet):
    r = signed_in(client).get("/devices?platform=huawei&device_id=dev-a")
    assert r.status_code == 302 and r.headers["Location"] == "/devices/huawei/dev-a"
    assert signed_in(client).get("/devices?platform=x&device_id=").status_code == 400

"""The dashboard through Flask's test client: what the pages say, and that the rest of the app
is as it was (JSON errors, /api/v1, /healthz, /metrics). Signing in: see test_auth.py."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from markupsafe import escape

from cmdkeeper.clock import ManualClock
from cmdkeeper.metrics import RECORDER
from dashboard.auth import COOKIE, session_value
from dev.procs import start_redis
from store.commands import NewCommand
from store.metrics_flush import flush_now
from store.model import Event, Source, State
from tests.conftest import API_TOKEN


@pytest.fixture
def clock() -> ManualClock:
    # "the last hour" is counted in per-minute buckets of the real time
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
def fleet(store, clock):
    """dev-a: c-done delivered and succeeded (and a late duplicate), c-wait PENDING, fresh;
    dev-b: c-stale, stale and revoked; dev-c: c-exp expired on the platform. What this process
    counted (a revocation) is flushed to Redis as its flusher would."""
    RECORDER.drain()  # an earlier test's counting is not this one's
    now = clock()
    for device, command, stale_at in (("dev-a", "c-done", now + 3_600_000),
                                      ("dev-a", "c-wait", now + 40_000),
                                      ("dev-b", "c-stale", now + 1_000),
                                      ("dev-c", "c-exp", now + 3_600_000)):
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
    store.apply_event(Event("huawei", "dev-c", "c-exp", State.EXPIRED, "EXPIRED", clock(),
                            Source.RECONCILE), clock())
    flush_now(store.client)
    return store


def signed_in(client, clock):
    client.set_cookie(COOKIE, session_value(API_TOKEN, clock()))
    return client


def section(page: str, command_id: str) -> str:
    start = page.index(f'id="cmd-{command_id}"')
    return page[start:page.index("</section>", start)]


def plain(html: str) -> str:
    """The text of some HTML, its tags (the ticking <time> elements...) taken out."""
    return re.sub(r"<[^>]+>", "", html)


def cells(page: str, row_id: str) -> list[str]:
    start = page.index(f'id="{row_id}"')
    row = page[start:page.index("</tr>", start)]
    return re.findall(r'<td class="num">(\d+)</td>', row)


def test_the_fleet_page_counts_states_stale_and_revocations(client, fleet, clock):
    clock.advance(60)  # c-wait is now stale too
    page = signed_in(client, clock).get("/").get_data(as_text=True)
    assert '<div class="n" id="stale">1</div>' in page
    assert '<div class="n" id="revocations">1</div>' in page
    # PENDING SENT DELIVERED SUCCEEDED FAILED TIMEOUT EXPIRED CANCELED all
    assert cells(page, "by-state-huawei") == ["1", "0", "0", "1", "0", "0", "1", "1", "4"]
    assert cells(page, "by-state-onenet") == ["0"] * 9


def test_the_fleet_page_lists_stale_commands_and_next_revocations(client, fleet, clock):
    clock.advance(60)
    page = signed_in(client, clock).get("/").get_data(as_text=True)
    stale = page[page.index('id="stale-commands"'):page.index("</table>",
                                                             page.index('id="stale-commands"'))]
    assert 'href="/devices/huawei/dev-a#cmd-c-wait"' in stale
    assert "(26 s ago)" in plain(stale)  # stale 40 s after creation, seen 66 s after it
    assert re.search(r'<time class="rel" data-ms="\d+">26 s ago</time>', stale)  # ticks
    upcoming = page[page.index('id="upcoming"'):]
    assert 'href="/devices/huawei/dev-a"' in upcoming
    assert 'id="overdue"' not in page


def test_the_fleet_page_warns_when_due_work_is_left_overdue(client, fleet, clock):
    clock.advance(3600)  # nobody swept: c-wait's revocation waits for an hour
    page = signed_in(client, clock).get("/").get_data(as_text=True)
    warning = page[page.index('id="overdue"'):page.index("</p>", page.index('id="overdue"'))]
    assert "1 device(s) overdue for revocation" in warning
    assert "is the <code>clock</code> process running?" in warning


def test_the_device_page_draws_each_timeline_and_says_why_a_command_waits(client, fleet, clock):
    page = signed_in(client, clock).get("/devices/huawei/dev-a").get_data(as_text=True)
    done = section(page, "c-done")
    steps = re.findall(r'<span class="dot badge (\w+)">(\w+)</span>', done)
    assert [s for _, s in steps] == ["PENDING", "SENT", "DELIVERED", "SUCCEEDED", "DELIVERED"]
    sources = re.findall(r'<span class="src">([^<]*)</span>', done)
    assert sources == ["api", "callback", "callback", "callback",
                       "callback · late/duplicate, not applied"]
    assert done.count('class="step ignored"') == 1
    assert '<span class="badge final SUCCEEDED">SUCCEEDED</span>' in done
    assert "Why is it stuck?" not in done and 'class="next"' not in done

    waiting = section(page, "c-wait")
    assert '<span class="line">Waiting for the device to wake; becomes stale at ' in waiting
    assert "(in 34 s) and will be revoked then." in plain(waiting)
    assert re.search(r'\(<time class="rel" data-ms="\d+">in 34 s</time>\)', waiting)
    # the steps still to come, drawn dashed
    assert re.findall(r'<li class="next"><span class="dot badge">(\w+)</span>', waiting) == \
        ["SENT", "DELIVERED", "final"]
    assert "2 command(s), 1 open." in " ".join(page.split())


def test_the_device_page_shows_a_refused_revocation(client, store, clock):
    now = clock()
    store.create_command(NewCommand("huawei", "dev-e", "c1", "Valve", "SET", {}, now, now + 1))
    clock.advance(2)
    store.record_error("huawei", "dev-e", "c1", {"code": "platform_rejected",
                                                  "message": "device <b>gone</b>"}, clock())
    page = signed_in(client, clock).get("/devices/huawei/dev-e").get_data(as_text=True)
    command = section(page, "c1")
    assert "platform_rejected — device &lt;b&gt;gone&lt;/b&gt;" in command
    assert "Revocation failed at" in command and "it is revoked again then." in command


def test_an_unknown_device_is_a_page_not_a_traceback(client, fleet, clock):
    r = signed_in(client, clock).get("/devices/huawei/nobody")
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "cmdkeeper holds no command for huawei device &#39;nobody&#39;." in r.get_data(True)
    r = client.get("/devices/acme/x")
    assert r.status_code == 404 and "no platform called" in r.get_data(True)


@pytest.mark.parametrize("hostile", ["<img src=x onerror=alert(1)>", '"><script>x()</script>',
                                     "a/b c?d=1#e%2F"])
def test_hostile_device_ids_are_escaped_everywhere(client, store, clock, hostile):
    store.create_command(NewCommand("huawei", hostile, "c1", "S", "M", {}, clock(), clock()))
    signed_in(client, clock)
    r = client.get("/devices", query_string={"platform": "huawei", "device_id": hostile})
    assert r.status_code == 302
    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert escape(hostile) in text
    if "<" in hostile:
        assert hostile not in text
    clock.advance(1)
    fleet_page = client.get("/").get_data(as_text=True)  # listed as stale, and as next revoked
    assert fleet_page.count(escape(hostile)) >= 2
    if "<" in hostile:
        assert hostile not in fleet_page


def test_the_search_box_leads_to_the_device_page(client, fleet, clock):
    r = signed_in(client, clock).get("/find?q=dev-a")
    assert r.status_code == 302 and r.headers["Location"] == "/devices/huawei/dev-a"
    r = client.get("/find?q=c-wait")  # a command id: its card on its device's page
    assert r.status_code == 302 and r.headers["Location"] == "/devices/huawei/dev-a#cmd-c-wait"
    r = client.get("/find?q=nothing-like-it")
    assert r.status_code == 404 and "holds no command and no device" in r.get_data(True)
    # the form of earlier versions still works
    r = client.get("/devices?platform=huawei&device_id=dev-a")
    assert r.status_code == 302 and r.headers["Location"] == "/devices/huawei/dev-a"
    r = client.get("/devices?platform=x&device_id=d")
    assert r.status_code == 400 and "Choose a platform" in r.get_data(True)


def test_pages_run_only_their_own_script_and_nothing_from_elsewhere(client, fleet, clock):
    for path in ("/", "/devices/huawei/dev-a", "/login", "/commands", "/stale", "/stuck",
                 "/devices", "/dead-letters"):
        r = signed_in(client, clock).get(path, follow_redirects=True)
        assert r.status_code == 200, path
        policy = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert r.headers["Cache-Control"] == "no-store"
        page = r.get_data(as_text=True)
        assert not re.search(r'(src|href|action)="(https?:)?//', page)
        assert re.findall(r"<script[^>]*>", page) == [
            '<script src="/static/dashboard/live.js" defer>']
        assert "</script>" in page and "<script>" not in page  # no inline script
    script = client.get("/static/dashboard/live.js")
    assert script.status_code == 200 and "javascript" in script.mimetype


def test_the_rest_of_the_app_is_unchanged(client, fleet, auth):
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    r = client.get("/api/v1/commands/huawei/c-done", headers=auth)
    assert r.status_code == 200 and r.json["state"] == "SUCCEEDED"
    assert client.get("/api/v1/commands/huawei/c-done").status_code == 401
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert "Content-Security-Policy" not in r.headers
    r = client.get("/api/v1/nothing", headers={"Accept": "text/html"})  # the API stays JSON
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_a_browser_gets_pages_for_unknown_paths(client, fleet, clock):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    r = signed_in(client, clock).get("/no/such/page", headers=browser)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "There is no page at /no/such/page." in r.get_data(True)
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    r = client.put("/", headers=browser)
    assert r.status_code == 405 and r.mimetype == "text/html" and "Allow" in r.headers


def test_a_redis_outage_is_a_page_saying_so(config, tmp_path, clock):
    from app import create_app

    server = start_redis(tmp_path / "redis")
    try:
        client = create_app(replace(config, redis_url=server.url), clock=clock).test_client()
        signed_in(client, clock)
        assert client.get("/").status_code == 200
    finally:
        server.stop()
    for path in ("/", "/devices/huawei/dev-a"):
        r = client.get(path)
        assert r.status_code == 503 and r.mimetype == "text/html"
        assert r.headers["Retry-After"] == "5"
        assert "cannot reach its Redis right now" in r.get_data(as_text=True)
    assert client.get("/healthz").status_code == 503  # the rest answers as before

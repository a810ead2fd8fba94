"""The dashboard's subscriptions page (health, backlog, last error, disabled ones) and, on a
device page, when each subscriber took each of a command's events."""

from __future__ import annotations

import time

import pytest

from cmdkeeper.clock import ManualClock
from dashboard.auth import COOKIE, session_value
from store.commands import NewCommand
from store.feed import read
from store.model import Event, Source, State
from store.subscriptions import SubscriptionStore
from tests.conftest import API_TOKEN


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(int(time.time() * 1000))


def signed_in(client, clock):
    client.set_cookie(COOKIE, session_value(API_TOKEN, clock()))
    return client


def test_the_page_shows_each_subscriptions_health(client, store, redis_client, clock):
    subs = SubscriptionStore(redis_client)
    now = clock()
    healthy, _ = subs.create("https://a.example/hook", now, description="billing")
    failing, _ = subs.create("https://b.example/hook", now)
    off, _ = subs.create("https://c.example/hook", now)
    store.create_command(NewCommand("huawei", "d1", "c1", "Valve", "SET", {}, now, now + 60_000))
    subs.failed(failing.id, now, "event 1-0: HTTP 503", now + 2_000)
    subs.disable(off.id, "the subscriber answered 410 Gone", now)

    page = signed_in(client, clock).get("/subscriptions").get_data(as_text=True)

    assert "billing" in page and "https://a.example/hook" in page
    row = page[page.index(f'id="{failing.id}"'):]
    assert "failing" in row[:row.index("</tr>")] and "HTTP 503" in row[:row.index("</tr>")]
    assert f'id="disabled-{off.id}"' in page and "410 Gone" in page
    assert f"/api/v1/subscriptions/{off.id}/enable" in page
    healthy_row = page[page.index(f'id="{healthy.id}"'):]
    assert 'class="num backlog">1<' in healthy_row[:healthy_row.index("</tr>")]


def test_no_subscription_says_how_to_make_one(client, clock):
    page = signed_in(client, clock).get("/subscriptions").get_data(as_text=True)
    assert 'id="none"' in page and "python -m cmdkeeper listen" in page


def test_a_commands_timeline_shows_when_each_subscriber_took_each_event(client, store,
                                                                        redis_client, clock):
    subs = SubscriptionStore(redis_client)
    now = clock()
    sub, _ = subs.create("https://a.example/hook", now)
    store.create_command(NewCommand("huawei", "d1", "c1", "Valve", "SET", {}, now, now + 60_000))
    store.apply_event(Event("huawei", "d1", "c1", State.SENT, "SENT", now + 1, Source.CALLBACK),
                      now + 1)
    created = read(redis_client, None, 1)[0]
    assert subs.delivered(subs.get(sub.id), sub.cursor, created, now + 500, retain_ms=60_000)

    page = signed_in(client, clock).get("/devices/huawei/d1").get_data(as_text=True)

    taken = page[page.index('id="cmd-c1"'):]
    assert taken.count(f"{sub.id}</a> took it") == 1  # PENDING taken, SENT not yet
    pending_step = taken[taken.index("badge PENDING"):taken.index("badge SENT")]
    assert f"{sub.id}</a> took it" in pending_step

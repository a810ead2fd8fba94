"""The fleet page's plots (dashboard/plots.py) and the callback health guard
(store/callback_health.py), from figures counted as the processes count them; and the command
cards (dashboard/cards.py)."""

from __future__ import annotations

import re
import time

import pytest

from cmdkeeper import metric_names as m
from cmdkeeper.clock import ManualClock
from cmdkeeper.metrics import RECORDER
from dashboard.auth import COOKIE, session_value
from store import actions, series
from store.commands import NewCommand
from store.metrics_flush import flush_now
from store.model import Event, Source, State
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN


@pytest.fixture
def clock() -> ManualClock:
    # the figures are bucketed by the real time
    return ManualClock(int(time.time() * 1000))


@pytest.fixture
def signed_in(client, clock):
    RECORDER.drain()
    client.set_cookie(COOKIE, session_value(API_TOKEN, clock()))
    return client


def values(page: str, plot_id: str, key: str) -> list[float | None]:
    start = page.index(f'id="{plot_id}"')
    figure = page[start:page.index("</figure>", start)]
    found = re.search(rf'<g class="series" data-key="{key}" data-values="([^"]*)"', figure)
    assert found, f"{key} not drawn in {plot_id}"
    return [float(v) if v else None for v in found.group(1).split(",")]


def test_the_plots_draw_what_was_counted(signed_in, store, redis_client, clock):
    now = clock()
    store.create_command(NewCommand("huawei", "d1", "c1", "V", "S", {}, now - 120_000, now - 1))
    m.COMMANDS_CREATED.inc(platform="huawei")
    store.apply_event(Event("huawei", "d1", "c1", State.CANCELED, "CANCELED", now,
                            Source.REVOKE), now)  # counted: revoked as stale, finished
    m.REVOCATION_LAG.observe(0.3, platform="huawei", mode="bulk")
    m.PLATFORM_CALLS.inc(3, platform="huawei", operation="cancel", outcome="ok")
    m.PLATFORM_CALLS.inc(platform="huawei", operation="cancel", outcome="no_budget")
    series.sample_queue_depth(redis_client, now)
    flush_now(redis_client)

    page = signed_in.get("/").get_data(as_text=True)
    assert values(page, "plot-commands", "created")[-1] == 1
    assert values(page, "plot-commands", "CANCELED")[-1] == 1
    assert values(page, "plot-revocations", "stale")[-1] == 1
    assert values(page, "plot-revocations", "requested")[-1] == 0
    assert 0.25 <= values(page, "plot-revocation-lag", "p50")[-1] <= 0.5
    assert values(page, "plot-queue", "queue")[-1] == 0
    assert values(page, "plot-calls", "huawei")[-1] == 3  # the refused one was no call
    assert set(values(page, "plot-calls", "huawei-budget")) == {100.0}
    assert len(values(page, "plot-commands", "created")) == 60
    day = signed_in.get("/?range=day").get_data(as_text=True)
    assert len(values(day, "plot-commands", "created")) == 288
    assert values(day, "plot-commands", "created")[-1] == 1
    assert set(values(day, "plot-calls", "huawei-budget")) == {500.0}  # per 5 minutes
    assert '<a href="/?range=day" aria-current="true" id="range-day">' in day


def test_callback_lag_says_why_it_has_none(signed_in, redis_client):
    page = signed_in.get("/").get_data(as_text=True)
    assert "no callback in the last hour" in page
    body = {"deviceId": "d1", "commandId": "c1", "result": {"resultCode": "SENT"}}
    assert signed_in.post(f"/webhooks/huawei/{WEBHOOK_TOKEN}", json=body).status_code == 200
    flush_now(redis_client)
    page = signed_in.get("/").get_data(as_text=True)
    assert re.search(r'<div class="n" id="lag">—</div>', page)
    assert "1 callback(s) in the last hour, none with the platform's event time" in page


def test_failing_callbacks_raise_the_health_alarm_well_before_the_platform_would(
        signed_in, redis_client):
    for _ in range(2):  # two of Huawei's ten in a row: counted, no alarm yet
        assert signed_in.post("/webhooks/huawei/wrong-token", json={}).status_code == 404
    flush_now(redis_client)
    page = signed_in.get("/").get_data(as_text=True)
    row = page[page.index('id="health-row-huawei"'):]
    assert "<td class=\"num\">2 / 2</td>" in row[:row.index("</tr>")]
    assert 'id="health-huawei"' not in page
    assert signed_in.post("/webhooks/huawei/wrong-token", json={}).status_code == 404
    flush_now(redis_client)
    page = signed_in.get("/").get_data(as_text=True)
    alarm = page[page.index('id="health-huawei"'):]
    assert "3 answered with an error (not 200) in the last 15 min" in alarm[:alarm.index("</p>")]
    assert "Huawei disables the callback URL after 10 failures in a row" in alarm
    metrics = signed_in.get("/metrics").get_data(as_text=True)
    assert 'cmdkeeper_callback_health_alarm{platform="huawei"} 1.0' in metrics
    assert 'cmdkeeper_callback_health_alarm{platform="onenet"} 0.0' in metrics
    assert 'cmdkeeper_callback_failures_total{platform="huawei",status="404"} 3.0' in metrics


def test_a_card_shows_paras_names_statuses_and_who_revoked(signed_in, store, clock):
    now = clock()
    store.create_command(NewCommand("onenet", "861", "u1", "", "WRITE", {"obj_id": 3311},
                                    now, now + 3_600_000, expire_at_ms=now + 7_200_000))
    store.apply_event(Event("onenet", "861", "u1", State.SUCCEEDED, "5/0", now + 1,
                            Source.CALLBACK), now + 1)
    store.create_command(NewCommand("huawei", "v1", "h1", "Valve", "SET", {"open": 1}, now,
                                    now + 3_600_000))
    actions.note(store.client, "huawei", "v1", actions.Asked(now + 5, "dashboard", "revoke_all"))
    store.apply_event(Event("huawei", "v1", "h1", State.CANCELED, "CANCELED", now + 10,
                            Source.REVOKE), now + 10, fill={"revoke_requested_by": "dashboard"})
    clock.advance(1)

    onenet = signed_in.get("/devices/onenet/861").get_data(as_text=True)
    assert 'paras <code>{&#34;obj_id&#34;:3311}</code>' in onenet
    assert "platform status 5 delivered · 0 SUCCESS" in onenet
    assert "stale at" not in onenet and "expires it at" not in onenet  # final: no deadlines
    huawei = signed_in.get("/devices/huawei/v1").get_data(as_text=True)
    start = huawei.index('class="meta revoked"')
    revoked = re.sub(r"<[^>]+>", "", huawei[start:huawei.index("</p>", start)])
    assert "Revoked on request, before its stale deadline" in revoked
    assert revoked.endswith("at the request of the dashboard.")
    # the request is drawn on the timeline, between creation and the cancel
    steps = re.findall(r'<span class="dot badge ?(\w*)">(\w+)</span>', huawei)
    assert [s for _, s in steps] == ["PENDING", "asked", "CANCELED"]
    assert "dashboard asked to revoke every PENDING command" in huawei

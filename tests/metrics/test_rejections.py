"""Callbacks not taken: per-minute figures by platform and reason (the dashboard's "last hour",
one round trip), and a WARNING at most once a minute per reason that never names a secret."""

from __future__ import annotations

import logging

from cmdkeeper.clock import ManualClock
from cmdkeeper.metrics import Counter, Recorder
from store.metrics_flush import Flusher
from store.stats import read_fleet_stats
from web.rejections import RejectionLog, cause

NOW_MS = 1_800_000_000_000


def test_minute_figures_are_kept_apart_by_their_window_labels(redis_client):
    # given rejections counted 90 and 5 minutes ago, for two reasons and two platforms
    counted_at = [(NOW_MS - 90 * 60_000) / 1000]
    recorder = Recorder(now_s=lambda: counted_at[0])
    rejected = Counter("cmdkeeper_test_rejected_total", "test", ("platform", "reason"),
                       window="callbacks_rejected", window_labels=("platform", "reason"),
                       recorder=recorder)
    unknown = Counter("cmdkeeper_test_unknown_total", "test", ("platform",),
                      window="unknown_statuses", window_labels=("platform",), recorder=recorder)
    rejected.inc(4, platform="onenet", reason="bad_signature")
    counted_at[0] = (NOW_MS - 5 * 60_000) / 1000
    rejected.inc(2, platform="onenet", reason="bad_signature")
    rejected.inc(platform="onenet", reason="bad_field")
    rejected.inc(platform="huawei", reason="not_found")
    unknown.inc(3, platform="huawei")
    assert Flusher(redis_client, 1, recorder).flush()

    stats = read_fleet_stats(redis_client, NOW_MS)

    assert stats.rejected_last_hour == {("onenet", "bad_signature"): 2,
                                        ("onenet", "bad_field"): 1, ("huawei", "not_found"): 1}
    assert stats.unknown_statuses_last_hour == {"huawei": 3}


def test_without_rejections_the_last_hour_has_none(redis_client):
    stats = read_fleet_stats(redis_client, NOW_MS)
    assert stats.rejected_last_hour == {} and stats.unknown_statuses_last_hour == {}


def test_a_reason_is_logged_at_most_once_a_minute_with_its_count(caplog):
    clock = ManualClock()
    rejections = RejectionLog(logging.getLogger("test.rejections"),
                              now_s=lambda: clock() / 1000)
    caplog.set_level(logging.WARNING, "test.rejections")

    for _ in range(5):
        rejections.note("onenet", "bad_signature")
    rejections.note("onenet", "bad_field")
    clock.advance(30)
    rejections.note("onenet", "bad_signature")
    clock.advance(31)
    rejections.note("onenet", "bad_signature")

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # bad_signature at once and a minute later; bad_field once
    assert lines[0].startswith("OneNET pushes failed their signature: 1 not taken")
    assert "check ONENET_PUSH_TOKEN / ONENET_AES_KEY" in lines[0]
    assert "(reason bad_field)" in lines[1]
    assert "6 not taken since this process last said so (reason bad_signature)" in lines[2]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_every_reason_has_a_likely_cause():
    assert cause("onenet", "undecryptable").check.startswith("check ONENET_AES_KEY")
    assert "CMDKEEPER_WEBHOOK_TOKEN" in cause("huawei", "not_found").check
    unknown = cause("onenet", "bad_field")
    assert unknown.what == "were malformed (bad_field)" and "format" in unknown.check

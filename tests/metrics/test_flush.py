"""Counting in one process, reading in another, through the real Redis: the periodic flush, the
flush at exit (plain and multiprocessing children), a failed flush keeping its increments, and
the per-minute figures behind the dashboard's "last hour"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import redis

from cmdkeeper.metric_names import CALLBACK_LAG_BUCKETS_S
from cmdkeeper.metrics import Counter, Histogram, Recorder, field
from dev.procs import wait_until
from store import connection, keys
from store.metrics_flush import Flusher
from store.stats import quantile, read_fleet_stats, read_snapshot

RECONCILED = field("cmdkeeper_reconciliations_total", (("platform", "huawei"),))


def run_counting_process(redis_url: str, body: str) -> subprocess.Popen:
    """A separate Python process that starts its flusher against `redis_url`, then runs `body`
    (which counts with cmdkeeper.metric_names as N)."""
    script = textwrap.dedent("""
        import sys
        from cmdkeeper import metric_names as N
        from store.metrics_flush import start_flusher
        from store import connection
        client = connection.client(sys.argv[1])
        """) + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", script, redis_url],
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def flushed(redis_client: redis.Redis, name: str = RECONCILED) -> float:
    return float(redis_client.hget(keys.METRIC_COUNTERS, name) or 0)


def test_another_process_counts_are_read_here_after_its_exit_flush(redis_url, redis_client):
    # given a process whose flusher would not tick for a minute: only its exit flush can send
    proc = run_counting_process(redis_url, """
        start_flusher(client, 60)
        for _ in range(3):
            N.RECONCILIATIONS.inc(platform="huawei")
        N.RECONCILE_CORRECTIONS.inc(2, platform="huawei", kind="missed_callback")
        """)
    assert proc.wait(timeout=30) == 0

    # then this process reads what it counted, through Redis
    assert flushed(redis_client) == 3
    snapshot = read_snapshot(redis_client, 0)
    assert snapshot.counters[RECONCILED] == 3
    stats = read_fleet_stats(redis_client, int(redis_client.time()[0]) * 1000)
    assert (stats.reconciliations_last_hour, stats.corrections_last_hour) == (3, 2)


def test_the_flusher_sends_periodically_so_a_killed_process_keeps_what_was_flushed(
        redis_url, redis_client):
    proc = run_counting_process(redis_url, """
        import time
        start_flusher(client, 0.1)
        N.RECONCILIATIONS.inc(platform="huawei")
        time.sleep(60)
        """)
    try:
        wait_until(lambda: flushed(redis_client) == 1, 10, "periodic flush", proc=proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert flushed(redis_client) == 1


def test_a_multiprocessing_child_flushes_on_its_way_out(redis_url, redis_client):
    # dramatiq's worker processes end through os._exit, which skips atexit
    proc = run_counting_process(redis_url, """
        import multiprocessing

        def work():
            start_flusher(client, 60)
            N.RECONCILIATIONS.inc(platform="huawei")

        child = multiprocessing.get_context("fork").Process(target=work)
        child.start()
        child.join()
        sys.exit(child.exitcode)
        """)
    assert proc.wait(timeout=30) == 0
    assert flushed(redis_client) == 1


def test_a_forked_child_of_a_counting_process_flushes_its_own_counting(redis_url, redis_client):
    # the parent's flusher does not survive a fork: the child gets its own, and forgets what
    # the parent had counted (the parent flushes that)
    proc = run_counting_process(redis_url, """
        import multiprocessing

        start_flusher(client, 60)
        N.RECONCILIATIONS.inc(platform="huawei")

        def work():
            N.RECONCILIATIONS.inc(10, platform="huawei")

        child = multiprocessing.get_context("fork").Process(target=work)
        child.start()
        child.join()
        sys.exit(child.exitcode)
        """)
    assert proc.wait(timeout=30) == 0
    assert flushed(redis_client) == 11


def test_a_failed_flush_keeps_its_increments_for_the_next_one(redis_client, redis_url):
    recorder = Recorder()
    counter = Counter("cmdkeeper_test_things_total", "test", ("platform",), recorder=recorder)
    seconds = Counter("cmdkeeper_test_wait_seconds_total", "test", recorder=recorder)
    counter.inc(platform="huawei")
    seconds.inc(0.25)

    down = connection.client("redis://127.0.0.1:9/0")  # nothing listens on the discard port
    assert Flusher(down, 1, recorder).flush() is False
    counter.inc(platform="huawei")

    assert Flusher(redis_client, 1, recorder).flush() is True
    things = field("cmdkeeper_test_things_total", (("platform", "huawei"),))
    assert flushed(redis_client, things) == 2
    assert flushed(redis_client, "cmdkeeper_test_wait_seconds_total") == 0.25
    assert recorder.drain() == ({}, {})


def test_labels_must_be_the_declared_ones():
    counter = Counter("cmdkeeper_test_labelled_total", "test", ("platform",), recorder=Recorder())
    with pytest.raises(TypeError):
        counter.inc(platform="huawei", device="d1")
    with pytest.raises(TypeError):
        counter.inc(0.5, platform="huawei")  # whole numbers only, but for _seconds_total


def test_last_hour_figures_come_from_the_minutes_of_the_last_hour(redis_client):
    # given revocations counted 90 min ago and 5 min ago, and callback lags of 3 s and 100 s
    now_ms = 1_800_000_000_000
    counted_at = [(now_ms - 90 * 60_000) / 1000]
    recorder = Recorder(now_s=lambda: counted_at[0])
    revoked = Counter("cmdkeeper_test_revoked_total", "test", window="revocations",
                      recorder=recorder)
    lag = Histogram("cmdkeeper_test_lag_seconds", "test", (), CALLBACK_LAG_BUCKETS_S,
                    window="callback_lag", recorder=recorder)
    revoked.inc(7)
    counted_at[0] = (now_ms - 5 * 60_000) / 1000
    revoked.inc(2)
    for seconds in (3, 3, 3, 100):
        lag.observe(seconds)
    assert Flusher(redis_client, 1, recorder).flush()

    stats = read_fleet_stats(redis_client, now_ms)

    assert stats.revocations_last_hour == 2
    assert stats.callback_lag_s["p50"] == pytest.approx(2 + 3 * 2 / 3)  # in the (2, 5] bucket
    assert stats.callback_lag_s["p95"] == pytest.approx(60 + 60 * 0.8)  # in (60, 120]
    assert redis_client.ttl(keys.metric_minute(int(counted_at[0] // 60))) > 3600


def test_no_lag_without_callbacks(redis_client):
    stats = read_fleet_stats(redis_client, 1_800_000_000_000)
    assert stats.callback_lag_s == {"p50": None, "p95": None}
    assert stats.queue_depth == 0 and stats.revocations_last_hour == 0


def test_quantile_interpolates_within_a_bucket_and_stops_at_the_last_finite_bound():
    assert quantile([(1.0, 0), (2.0, 10), (float("inf"), 0)], 0.5) == 1.5
    assert quantile([(1.0, 1), (float("inf"), 9)], 0.95) == 1.0
    assert quantile([], 0.5) is None

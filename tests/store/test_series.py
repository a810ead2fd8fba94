"""store/series.py and the five-minute figures of store/counters.py: what the plots read."""

from __future__ import annotations

from cmdkeeper.metrics import Counter, Histogram, Recorder
from store import counters, keys, series
from store.series import FIVE_MS, MINUTE_MS, read_series

NOW_MS = 1_800_000_000_000  # a minute boundary... of no importance: buckets are by floor


def flush(client, recorder: Recorder) -> None:
    counts, minutes = recorder.drain()
    counters.add(client, counts, minutes)


def test_increments_land_in_their_minute_and_their_five_minutes(redis_client):
    clock = [NOW_MS / 1000]
    recorder = Recorder(now_s=lambda: clock[0])
    created = Counter("cmdkeeper_t_created_total", "t", ("platform",), window="created",
                      recorder=recorder)
    created.inc(platform="huawei")
    clock[0] -= 600  # ten minutes earlier
    created.inc(2, platform="huawei")
    flush(redis_client, recorder)

    hour = read_series(redis_client, "hour", NOW_MS)
    assert len(hour.starts_ms) == 60 and hour.step_ms == MINUTE_MS
    assert hour.total("created")[-1] == 1 and hour.total("created")[-11] == 2
    assert hour.summed("created") == 3
    day = read_series(redis_client, "day", NOW_MS)
    assert len(day.starts_ms) == 288 and day.step_ms == FIVE_MS
    assert day.summed("created") == 3
    assert 0 < redis_client.ttl(keys.metric_five(NOW_MS // FIVE_MS)) <= counters.FIVE_TTL_S
    assert redis_client.ttl(keys.metric_minute(NOW_MS // MINUTE_MS)) <= counters.MINUTE_TTL_S


def test_labels_and_quantiles_per_bucket(redis_client):
    recorder = Recorder(now_s=lambda: NOW_MS / 1000)
    revoked = Counter("cmdkeeper_t_revoked_total", "t", ("platform", "reason"),
                      window="revocations", window_labels=("reason",), recorder=recorder)
    lag = Histogram("cmdkeeper_t_lag_seconds", "t", ("platform",), (1, 2, 5),
                    window="callback_lag", recorder=recorder)
    revoked.inc(3, platform="huawei", reason="stale")
    revoked.inc(platform="onenet", reason="requested")
    for value in (0.5, 0.5, 4):
        lag.observe(value, platform="huawei")
    flush(redis_client, recorder)

    hour = read_series(redis_client, "hour", NOW_MS)
    assert {k: v[-1] for k, v in hour.by_label("revocations", "reason").items()} == {
        "requested": 1, "stale": 3}
    assert hour.quantile("callback_lag", 0.5)[-1] < 1
    assert 2 < hour.quantile("callback_lag", 0.95)[-1] <= 5
    assert hour.quantile("callback_lag", 0.5)[0] is None  # nothing then


def test_the_queue_depth_is_sampled_and_the_largest_sample_wins(redis_client):
    ready, _, _ = keys.work_queue_keys(keys.WORK_QUEUE)
    redis_client.rpush(ready, "a", "b", "c")
    assert series.sample_queue_depth(redis_client, NOW_MS) == 3
    redis_client.delete(ready)
    series.sample_queue_depth(redis_client, NOW_MS + MINUTE_MS)  # 0 a minute later

    hour = read_series(redis_client, "hour", NOW_MS + MINUTE_MS)
    assert hour.gauge()[-2:] == [3, 0]
    assert hour.gauge()[0] is None  # never sampled: the clock was not running
    day = read_series(redis_client, "day", NOW_MS + MINUTE_MS)
    assert max(v for v in day.gauge() if v is not None) == 3

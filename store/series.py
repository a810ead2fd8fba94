"""Figures over time for the dashboard's plots: the last hour by minute, the last day by five
minutes, read from the hashes every process flushes to (store/counters.py) and the queue depth
the leading clock samples once a minute (`sample_queue_depth`).

A `Series` is the buckets of one span, oldest first, each a dict of flushed fields
(`<metric>|<label>=<value>|...`: cmdkeeper/metrics.py `field`). It answers plain questions:
totals per bucket, totals per label value, a histogram's quantile per bucket, a gauge's largest
sample per bucket. Missing buckets (nothing counted, or expired) are zeros, never gaps, except
for a gauge nobody sampled (None: the clock was not running).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import redis

from cmdkeeper.metric_names import MINUTE_QUEUE_DEPTH
from cmdkeeper.metrics import parse_field
from store import counters, keys

MINUTE_MS = 60_000
FIVE_MS = counters.FIVE * MINUTE_MS
HOUR_BUCKETS = 60
DAY_BUCKETS = 24 * 60 // counters.FIVE

#: span -> (bucket length ms, buckets).
SPANS = {"hour": (MINUTE_MS, HOUR_BUCKETS), "day": (FIVE_MS, DAY_BUCKETS)}


def bucket_keys(span: str, now_ms: int) -> list[tuple[int, str]]:
    """(start ms, hash key) of each bucket of the span ending now, oldest first."""
    step, count = SPANS[span]
    last = now_ms // step
    build = keys.metric_minute if span == "hour" else keys.metric_five
    return [(b * step, build(b)) for b in range(last - count + 1, last + 1)]


@dataclass(frozen=True)
class Series:
    span: str
    step_ms: int
    starts_ms: list[int]
    figures: list[dict[str, str]] = field(repr=False)

    @cached_property
    def _parsed(self) -> list[list[tuple[str, dict[str, str], float]]]:
        out = []
        for figures in self.figures:
            rows = []
            for text, value in figures.items():
                name, labels = parse_field(text)
                try:
                    rows.append((name, labels, float(value)))
                except ValueError:
                    continue
            out.append(rows)
        return out

    def total(self, name: str, **labels: str) -> list[float]:
        """Per bucket: the sum of `name`'s fields whose labels include these."""
        return [sum(v for n, lab, v in rows
                    if n == name and all(lab.get(k) == x for k, x in labels.items()))
                for rows in self._parsed]

    def by_label(self, name: str, label: str, *, exclude: Iterable[str] = ()) -> dict[
            str, list[float]]:
        """label value -> per-bucket sums of `name` (values in `exclude` left out)."""
        skip = set(exclude)
        values = sorted({lab[label] for rows in self._parsed for n, lab, _ in rows
                         if n == name and label in lab and lab[label] not in skip})
        return {value: self.total(name, **{label: value}) for value in values}

    def quantile(self, name: str, q: float) -> list[float | None]:
        """Per bucket: the q-quantile of the histogram counted under `name` (an `le` label)."""
        out = []
        for rows in self._parsed:
            counts: dict[float, float] = {}
            for n, lab, v in rows:
                if n == name and "le" in lab:
                    bound = float(lab["le"])
                    counts[bound] = counts.get(bound, 0.0) + v
            out.append(quantile(sorted(counts.items()), q))
        return out

    def gauge(self, name: str = MINUTE_QUEUE_DEPTH) -> list[float | None]:
        """Per bucket: the largest sample of a gauge set with `counters.set_gauge`."""
        out: list[float | None] = []
        for rows in self._parsed:
            samples = [v for n, _, v in rows if n == name or n.startswith(name + "@")]
            out.append(max(samples) if samples else None)
        return out

    def summed(self, name: str, **labels: str) -> float:
        return sum(self.total(name, **labels))


def series_from(span: str, now_ms: int, figures: list[dict[str, str]]) -> Series:
    step, _ = SPANS[span]
    return Series(span, step, [start for start, _ in bucket_keys(span, now_ms)], figures)


def read_series(client: redis.Redis, span: str, now_ms: int) -> Series:
    """One span's buckets in one round trip."""
    pipe = client.pipeline(transaction=False)
    for _, key in bucket_keys(span, now_ms):
        pipe.hgetall(key)
    return series_from(span, now_ms, pipe.execute())


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile of a histogram given as sorted (upper bound, count in that bucket),
    interpolated within its bucket as Prometheus's histogram_quantile does; None for no
    observations."""
    total = sum(count for _, count in buckets)
    if total <= 0:
        return None
    rank, seen, lower = q * total, 0.0, 0.0
    for bound, count in buckets:
        if count > 0 and seen + count >= rank:
            if math.isinf(bound):
                return lower  # the largest finite bound, as Prometheus answers
            return lower + (bound - lower) * (rank - seen) / count
        seen += count
        if not math.isinf(bound):
            lower = bound
    return lower


def sample_queue_depth(client: redis.Redis, now_ms: int) -> int:
    """Sample the queue depth for this minute (the leading clock calls it once a minute)."""
    pipe = client.pipeline(transaction=False)
    for queue in keys.WORK_QUEUES:
        ready, delayed, _ = keys.work_queue_keys(queue)
        pipe.llen(ready)
        pipe.llen(delayed)
    depth = sum(int(n) for n in pipe.execute())
    counters.set_gauge(client, now_ms // MINUTE_MS, MINUTE_QUEUE_DEPTH, depth)
    return depth

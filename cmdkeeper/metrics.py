"""In-process counters and histograms: counting is a dict update under a lock, with no I/O.

Web, worker and clock processes run on different machines (Heroku dynos), so no shared directory
can sum their metrics: each process counts in memory here, and a daemon thread adds the
increments to Redis every METRICS_FLUSH_S (store/metrics_flush.py). `GET /metrics` reads the
sums from Redis. Like logging, counting is something every layer does, so it lives in the
kernel and knows nothing of Redis: a counted value is a field name (`field()`) and an amount.

Metrics are module-level objects (cmdkeeper/metric_names.py), as with prometheus_client.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable

Amount = int | float

#: Per-minute figures older than this are dropped rather than kept for a retry (Redis would
#: expire them at once anyway: see store.counters.MINUTE_TTL_S).
KEEP_MINUTES = 120

#: Separates a metric name from its labels in a counter field, and the labels from each other.
SEP = "|"


def field(name: str, labels: tuple[tuple[str, str], ...] = ()) -> str:
    """The field one metric and label set is counted under: `<metric>|<label>=<value>|...`."""
    return SEP.join((name, *(f"{k}={v}" for k, v in labels)))


def parse_field(text: str) -> tuple[str, dict[str, str]]:
    """(metric name, labels) of a field written by `field`."""
    name, *pairs = text.split(SEP)
    labels = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        labels[key] = value
    return name, labels


class Recorder:
    """Increments not yet flushed: counter field -> amount, and minute -> field -> amount."""

    def __init__(self, now_s: Callable[[], float] = time.time) -> None:
        self.now_s = now_s
        self._lock = threading.Lock()
        self._counts: dict[str, Amount] = {}
        self._minutes: dict[int, dict[str, Amount]] = {}

    def add(self, items: list[tuple[str, Amount]], window: list[tuple[str, Amount]] = ()) -> None:
        """Add to counter fields, and to fields of the current minute's figures."""
        with self._lock:
            counts = self._counts
            for name, amount in items:
                counts[name] = counts.get(name, 0) + amount
            if window:
                minute = self._minutes.setdefault(int(self.now_s() // 60), {})
                for name, amount in window:
                    minute[name] = minute.get(name, 0) + amount

    def drain(self) -> tuple[dict[str, Amount], dict[int, dict[str, Amount]]]:
        """Everything not yet flushed; the recorder starts again from zero."""
        with self._lock:
            out = self._counts, self._minutes
            self._counts, self._minutes = {}, {}
        return out

    def restore(self, counts: dict[str, Amount], minutes: dict[int, dict[str, Amount]]) -> None:
        """Put back what a failed flush took, to go with the next one."""
        oldest = int(self.now_s() // 60) - KEEP_MINUTES
        self.add(list(counts.items()))
        with self._lock:
            for minute, figures in minutes.items():
                if minute >= oldest:
                    mine = self._minutes.setdefault(minute, {})
                    for name, amount in figures.items():
                        mine[name] = mine.get(name, 0) + amount

    def forget(self) -> None:
        """Start from nothing (in a forked child: the parent flushes what it had counted)."""
        self._lock = threading.Lock()
        self._counts, self._minutes = {}, {}


#: The recorder of this process, which every metric adds to.
RECORDER = Recorder()
#: Every metric defined in this process, by name (what `/metrics` describes).
DEFINED: dict[str, Counter | Histogram] = {}


def _clean(value: object) -> str:
    # label values are low-cardinality words; these characters would break the field encoding
    return str(value).replace(SEP, "_").replace("=", "_").replace("\n", "_")


def le_text(bound: float) -> str:
    """A bucket bound as stored in a field (`+Inf` for the last one)."""
    return "+Inf" if math.isinf(bound) else format(bound, "g")


class _Metric:
    kind = ""

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...], window: str | None,
                 recorder: Recorder | None) -> None:
        if not name.startswith("cmdkeeper_"):
            raise ValueError(f"metric {name!r} must start with cmdkeeper_")
        self.name, self.doc, self.labelnames, self.window = name, doc, labelnames, window
        self.recorder = recorder or RECORDER
        if recorder is None:
            DEFINED[name] = self  # type: ignore[assignment]

    def _labels(self, labels: dict[str, object]) -> tuple[tuple[str, str], ...]:
        if len(labels) != len(self.labelnames):
            raise TypeError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        return tuple((n, _clean(labels[n])) for n in self.labelnames)


class Counter(_Metric):
    """A monotonic count; `window` also adds each increment to that per-minute figure, kept
    apart by the labels in `window_labels` (none: one figure for all). A `_seconds_total`
    counter adds floats, any other whole numbers (Redis keeps each field one way: HINCRBY or
    HINCRBYFLOAT)."""

    kind = "counter"

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...] = (), *,
                 window: str | None = None, window_labels: tuple[str, ...] = (),
                 recorder: Recorder | None = None) -> None:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name!r} must end with _total")
        if not set(window_labels) <= set(labelnames):
            raise ValueError(f"{name}: window_labels must be among its labels")
        super().__init__(name, doc, labelnames, window, recorder)
        self.floats = name.endswith("_seconds_total")
        self.window_labels = window_labels

    def inc(self, amount: Amount = 1, **labels: object) -> None:
        if self.floats:
            amount = float(amount)
        elif not isinstance(amount, int):
            raise TypeError(f"{self.name} counts whole numbers, got {amount!r}")
        if amount:
            labelled = self._labels(labels)
            window = []
            if self.window:
                kept = tuple(pair for pair in labelled if pair[0] in self.window_labels)
                window = [(field(self.window, kept), amount)]
            self.recorder.add([(field(self.name, labelled), amount)], window)


class Histogram(_Metric):
    """Observations counted per bucket (`le` = the bucket's upper bound), with their sum;
    `window` also counts each observation in that per-minute figure's bucket."""

    kind = "histogram"

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...], buckets: tuple[float, ...],
                 *, window: str | None = None, recorder: Recorder | None = None) -> None:
        super().__init__(name, doc, labelnames, window, recorder)
        self.buckets = tuple(float(b) for b in buckets) + (math.inf,)

    def observe(self, value: float, **labels: object) -> None:
        le = le_text(self.buckets[bisect.bisect_left(self.buckets, value)])
        labelled = self._labels(labels)
        self.recorder.add(
            [(field(f"{self.name}_bucket", labelled + (("le", le),)), 1),
             (field(f"{self.name}_count", labelled), 1),
             (field(f"{self.name}_sum", labelled), float(value))],
            [(field(self.window, (("le", le),)), 1)] if self.window else [])

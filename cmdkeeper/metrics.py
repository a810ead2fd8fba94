"""In-process counters and histograms, and the thread that flushes them to Redis.

Web, worker and clock processes run on different machines (Heroku dynos), so no shared directory
can sum their metrics: each process counts in memory (a dict update under a lock, no I/O) and a
daemon thread adds the increments to Redis every METRICS_FLUSH_S in one transaction
(store/counters.py), and once more when the process exits normally (atexit, and multiprocessing's
exit hook for dramatiq's worker processes). `GET /metrics` reads the sums from Redis.

A process killed with SIGKILL (or by the OOM killer) loses the increments of at most one flush
interval. While Redis is away, increments wait in memory and go with the next flush that works.

Metrics are module-level objects (cmdkeeper/metric_names.py), as with prometheus_client; the Redis
connection is not: it is handed to `start_flusher` by each process's entry point.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import math
import multiprocessing.util
import os
import threading
import time
from collections.abc import Callable

import redis

from store import counters

log = logging.getLogger(__name__)

Amount = int | float

#: Per-minute figures older than this are dropped rather than kept for a retry (Redis would
#: expire them at once anyway: see store.counters.MINUTE_TTL_S).
KEEP_MINUTES = 120


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
    return str(value).replace(counters.SEP, "_").replace("=", "_").replace("\n", "_")


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
    """A monotonic count; `window` also adds each increment to that per-minute figure. A
    `_seconds_total` counter adds floats, any other whole numbers (Redis keeps each field one way:
    HINCRBY or HINCRBYFLOAT)."""

    kind = "counter"

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...] = (), *,
                 window: str | None = None, recorder: Recorder | None = None) -> None:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name!r} must end with _total")
        super().__init__(name, doc, labelnames, window, recorder)
        self.floats = name.endswith("_seconds_total")

    def inc(self, amount: Amount = 1, **labels: object) -> None:
        if self.floats:
            amount = float(amount)
        elif not isinstance(amount, int):
            raise TypeError(f"{self.name} counts whole numbers, got {amount!r}")
        if amount:
            field = counters.field(self.name, self._labels(labels))
            self.recorder.add([(field, amount)], [(self.window, amount)] if self.window else [])


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
            [(counters.field(f"{self.name}_bucket", labelled + (("le", le),)), 1),
             (counters.field(f"{self.name}_count", labelled), 1),
             (counters.field(f"{self.name}_sum", labelled), float(value))],
            [(counters.field(self.window, (("le", le),)), 1)] if self.window else [])


class Flusher:
    """Adds a recorder's increments to Redis every `interval_s` on a daemon thread."""

    def __init__(self, client: redis.Redis, interval_s: float,
                 recorder: Recorder | None = None) -> None:
        self.client, self.interval_s = client, interval_s
        self.recorder = recorder or RECORDER
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def flush(self, *, quiet: bool = False) -> bool:
        """Send what was counted since the last flush; False (and kept for later) on failure."""
        counts, minutes = self.recorder.drain()
        try:
            counters.add(self.client, counts, minutes)
        except redis.ResponseError as e:
            # refused by Redis itself (after EXEC: the other increments did land), not lost in
            # transit: retrying would count the rest twice
            log.error("metrics flush refused by Redis, increments dropped: %s", e)
            return False
        except redis.RedisError as e:
            self.recorder.restore(counts, minutes)
            if not self._failing and not quiet:
                log.warning("metrics not flushed (kept for the next try): %s", type(e).__name__)
            self._failing = True
            return False
        self._failing = False
        return True

    def start(self) -> Flusher:
        self._thread = threading.Thread(target=self._run, name="metrics-flusher", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def stop(self) -> None:
        """Stop the thread and flush what is left (safe to call more than once)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval_s + 5)
        # at exit, logging may already be torn down; a Redis that is gone is logged elsewhere
        self.flush(quiet=True)


_flusher: Flusher | None = None
_flusher_pid: int | None = None


def start_flusher(client: redis.Redis, interval_s: float) -> Flusher:
    """Start this process's flusher (once per process; a forked child gets its own)."""
    global _flusher, _flusher_pid
    if _flusher is not None and _flusher_pid == os.getpid():
        return _flusher
    _flusher, _flusher_pid = Flusher(client, interval_s).start(), os.getpid()
    atexit.register(_flusher.stop)
    _finalize_on_exit(_flusher)
    # a multiprocessing child forgets the finalizers it inherited, then runs these
    multiprocessing.util.register_after_fork(_flusher, _finalize_on_exit)
    return _flusher


def _finalize_on_exit(flusher: Flusher) -> None:
    # multiprocessing children (dramatiq's worker processes) leave through os._exit, which skips
    # atexit but runs these finalizers
    multiprocessing.util.Finalize(None, flusher.stop, exitpriority=10)


def flush_now(client: redis.Redis) -> bool:
    """Flush this process's increments at once (what `/metrics` does before it reads, so a
    scrape includes the serving process's latest counting)."""
    flusher = _flusher if _flusher is not None and _flusher_pid == os.getpid() else None
    return (flusher or Flusher(client, 0)).flush()


def _after_fork_in_child() -> None:
    global _flusher
    RECORDER.forget()
    parent, _flusher = _flusher, None
    if parent is not None:
        start_flusher(parent.client, parent.interval_s)


os.register_at_fork(after_in_child=_after_fork_in_child)

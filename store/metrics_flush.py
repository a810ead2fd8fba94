"""The thread that adds this process's counted metrics to Redis (cmdkeeper/metrics.py counts).

Every METRICS_FLUSH_S a daemon thread drains the process's recorder and adds the increments to
the fleet-wide sums in one transaction (store/counters.py), and once more when the process exits
normally (atexit, and multiprocessing's exit hook for dramatiq's worker processes). A process
killed with SIGKILL (or by the OOM killer) loses the increments of at most one flush interval.
While Redis is away, increments wait in memory and go with the next flush that works.

Each process's entry point starts its flusher with its own Redis client (`start_flusher`).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import threading

import redis

from cmdkeeper.metrics import RECORDER, Recorder
from store import counters

log = logging.getLogger(__name__)


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

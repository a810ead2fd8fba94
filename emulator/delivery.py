"""Callback and push delivery over real HTTP, with injected faults and retry on failure.

Platforms `submit` messages under the emulator lock. Faults are drawn then, from the seeded
delivery stream: drop (never sent), duplicate (sent twice), delay (ready `delay_s` emulated seconds
later) and reorder (held back until the next message to the same URL has been queued, or
`reorder_hold_s` later). Ready messages leave in order from one sender thread. A failed attempt
(no answer in time, connection error, non-2xx) is tried again every `retry_interval_s` emulated
seconds until the platform's retry window since the first attempt has passed; a message with
`retry=False` (IoTDA's rule engine) is discarded instead, and may ask for exactly one status
(`ok_status`, IoTDA: 200) and its own timeouts. `wait_idle` lets a test wait, with a deadline,
until nothing is ready or in flight.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from emulator.engine import Engine
from emulator.faults import Faults

#: (connect, read) timeouts of a delivery: Huawei gives up after 15 s, OneNET after 5 s (IoTDA's
#: pushes carry their own, a setting).
TIMEOUTS_S = {"huawei": (2.0, 15.0), "onenet": (2.0, 5.0), "iotda": (2.0, 15.0)}
#: The delivery log keeps at most this many entries.
LOG_LIMIT = 200_000


@dataclass
class Message:
    """One callback (Huawei) or push (OneNET, IoTDA) to deliver."""

    channel: str
    url: str
    body: str
    meta: dict[str, Any]
    on_attempt: Callable[[bool], None] | None = None
    id: int = 0
    copy: int = 0  #: 0 for the original, 1 for an injected duplicate
    attempt: int = 0
    first_attempt_ms: int | None = None
    epoch: int = field(default=0, repr=False)
    timeout_s: tuple[float, float] | None = None  #: None: the channel's TIMEOUTS_S
    retry: bool = True  #: False: a failed attempt is discarded, not tried again
    ok_status: int | None = None  #: None: any 2xx is a success


class Outbox:
    """The delivery queue, its fault injection and its sender thread."""

    def __init__(self, lock: threading.RLock, faults: Callable[[], Faults]) -> None:
        self.lock, self.faults = lock, faults
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.epoch = 0
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._ready: deque[Message] = deque()
        self._held: dict[str, list[Message]] = {}
        self._scheduled = 0
        self._in_flight = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.http = requests.Session()
        self.http.trust_env = False  # loopback receivers; never through a proxy
        self.engine: Engine | None = None
        self.rng: Any = None

    def reset(self, engine: Engine, rng: Any) -> None:
        """Forget everything queued (a message in flight finishes unrecorded)."""
        with self._cond:
            self.epoch += 1
            self._ready.clear()
            self._held.clear()
            self._scheduled = 0
            self.log.clear()
            self._ids = itertools.count(1)
        self.engine, self.rng = engine, rng

    # -- submitting (under the emulator lock) ------------------------------------------------
    def submit(self, msg: Message) -> None:
        f = self.faults()
        r = self.rng
        drop, dup, delay, reorder = (r.random() < p for p in
                                     (f.drop_p, f.duplicate_p, f.delay_p, f.reorder_p))
        msg.id, msg.epoch = next(self._ids), self.epoch
        self._log(msg, "queued", body=msg.body)
        if drop:
            self._log(msg, "dropped")
            return
        copies = [msg]
        if dup:
            copies.append(replace(msg, id=next(self._ids), copy=1))
            self._log(copies[1], "duplicated", of=msg.id, body=msg.body)
        for m in copies:
            if delay:
                self._scheduled += 1
                self._log(m, "delayed", seconds=f.delay_s)
                self.engine.after(f.delay_s, self._release_scheduled, m)
            elif reorder:
                self._scheduled += 1
                self._held.setdefault(m.url, []).append(m)
                self._log(m, "held")
                self.engine.after(f.reorder_hold_s, self._release_held, m)
            else:
                self._make_ready(m)

    def _make_ready(self, msg: Message) -> None:
        held = [h for h in self._held.pop(msg.url, []) if h is not msg]
        self._scheduled -= len(held)
        with self._cond:
            self._ready.append(msg)
            self._ready.extend(held)
            self._cond.notify_all()

    def _release_scheduled(self, msg: Message) -> None:
        if msg.epoch == self.epoch:
            self._scheduled -= 1
            self._make_ready(msg)

    def _release_held(self, msg: Message) -> None:
        held = self._held.get(msg.url, [])
        if msg.epoch == self.epoch and msg in held:
            held.remove(msg)
            self._scheduled -= 1
            with self._cond:
                self._ready.append(msg)
                self._cond.notify_all()

    # -- sending (sender thread) -------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="emulator-outbox", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ready and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                msg = self._ready.popleft()
                self._in_flight += 1
            try:
                ok, status, error = self._post(msg)
                with self.lock:
                    if msg.epoch == self.epoch:
                        self.engine.sync()  # stamp the attempt (and its retry) with the time now
                        self._after_attempt(msg, ok, status, error)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _post(self, msg: Message) -> tuple[bool, int | None, str | None]:
        try:
            response = self.http.post(msg.url, data=msg.body.encode("utf-8"),
                                      headers={"Content-Type": "application/json"},
                                      timeout=msg.timeout_s or TIMEOUTS_S[msg.channel])
        except requests.RequestException as e:
            return False, None, type(e).__name__
        status = response.status_code
        return (status == msg.ok_status if msg.ok_status else 200 <= status < 300), status, None

    def _after_attempt(self, msg: Message, ok: bool, status: int | None, error: str | None) -> None:
        engine, f = self.engine, self.faults()
        msg.attempt += 1
        if msg.first_attempt_ms is None:
            msg.first_attempt_ms = engine.now_ms
        self._log(msg, "attempt", ok=ok, http_status=status, error=error)
        if msg.on_attempt is not None:
            msg.on_attempt(ok)
        if ok:
            return
        if not msg.retry:
            self._log(msg, "discarded")
            return
        window_s = f.huawei_retry_window_s if msg.channel == "huawei" else f.onenet_retry_window_s
        next_ms = engine.now_ms + round(f.retry_interval_s * 1000)
        if next_ms - msg.first_attempt_ms > window_s * 1000:
            self._log(msg, "gave_up")
            return
        self._scheduled += 1
        engine.at(next_ms, self._release_retry, msg)

    def _release_retry(self, msg: Message) -> None:
        if msg.epoch == self.epoch:
            self._scheduled -= 1
            with self._cond:
                self._ready.append(msg)
                self._cond.notify_all()

    # -- observing ---------------------------------------------------------------------------
    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is ready or in flight; False if the deadline passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._ready and not self._in_flight,
                                       timeout=timeout_s)

    def counts(self) -> dict[str, int]:
        with self._cond:
            return {"ready": len(self._ready), "in_flight": self._in_flight,
                    "scheduled": self._scheduled}

    def _log(self, msg: Message, event: str, **extra: Any) -> None:
        self.log.append({
            "id": msg.id, "event": event, "channel": msg.channel, "url": msg.url,
            "attempt": msg.attempt, "copy": msg.copy, **msg.meta, **extra,
            "at_ms": self.engine.now_ms, "real_ms": time.time_ns() // 1_000_000,
        })

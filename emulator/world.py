"""The emulator's whole state behind one lock: clock, engine, devices, the platforms, logs.

Every request takes the lock through `transaction()`, which first runs every event that came due
on the clock, so a view always sees the platform as of now. A ticker thread does the same while
nobody calls, so devices keep waking with speed > 0. `reset()` starts over (same seed unless
given), restoring the start-up settings.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cmdkeeper.clock import ms_to_iso
from emulator.calls import CallLog
from emulator.clock import EmulatedClock
from emulator.delivery import Outbox
from emulator.devices import Fleet
from emulator.engine import Engine, Rngs
from emulator.faults import Faults, RateLimiter
from emulator.huawei_auth import Tokens
from emulator.huawei_state import HuaweiPlatform
from emulator.iotda_push import Forwarder, Target
from emulator.iotda_state import IotdaPlatform
from emulator.onenet_state import OneNetPlatform
from emulator.push import PushTarget
from emulator.settings import Settings

#: Longest real wait of the ticker between two looks at the clock.
TICK_MAX_S = 0.1


class Emulator:
    """The platforms, their devices and the ground truth."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_seed = settings.seed if settings.seed is not None \
            else random.SystemRandom().randrange(2**31)
        self.lock = threading.RLock()
        self.faults = settings.faults
        self.outbox = Outbox(self.lock, lambda: self.faults)
        self.calls = CallLog()
        self.limiter = RateLimiter()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.reset()

    def reset(self, seed: int | None = None, start_ms: int | None = None,
              speed: float | None = None, faults: dict[str, Any] | None = None) -> None:
        s = self.settings
        with self.lock:
            self.seed = self.base_seed if seed is None else seed
            if start_ms is None:
                start_ms = s.start_ms if s.start_ms is not None else time.time_ns() // 1_000_000
            self.clock = EmulatedClock(start_ms, s.speed if speed is None else speed)
            self.engine = Engine(self.clock)
            self.rngs = Rngs(self.seed)
            self.faults = s.faults.updated(faults or {})
            self.limiter.clear()
            self.calls.clear()
            self.outbox.reset(self.engine, self.rngs.delivery)
            self.tokens = Tokens(s.huawei_app_id, s.huawei_secret, s.huawei_refresh_ttl_s,
                                 self.rngs)
            push = None
            if s.onenet_push_url:
                push = PushTarget(s.onenet_push_url, s.onenet_push_token,
                                  s.onenet_aes_key or None, s.onenet_aes_block).check()
            self.huawei = HuaweiPlatform(s, self.engine, self.rngs, self.outbox)
            self.onenet = OneNetPlatform(s, self.engine, self.rngs, self.outbox, push)
            self.forwarder = Forwarder(self.engine, self.outbox, Target.from_settings(s))
            self.iotda = IotdaPlatform(s, self.engine, self.rngs, self.forwarder)
            self.fleet = Fleet(self.engine, self.rngs,
                               {"huawei": self.huawei, "onenet": self.onenet,
                                "iotda": self.iotda})
            self.huawei.fleet = self.onenet.fleet = self.iotda.fleet = self.fleet
            for device in s.devices:
                self.fleet.add(**device)

    @contextmanager
    def transaction(self) -> Iterator[int]:
        """Hold the lock, caught up with the clock; yields the emulated now (epoch ms)."""
        with self.lock:
            self.engine.sync()
            yield self.engine.now_ms

    def advance(self, seconds: float) -> int:
        with self.lock:
            self.engine.sync()
            self.clock.advance(seconds)
            self.engine.sync()
            return self.engine.now_ms

    def set_faults(self, changes: dict[str, Any]) -> Faults:
        with self.lock:
            self.faults = self.faults.updated(changes)
            return self.faults

    # -- API gate ----------------------------------------------------------------------------
    def gate(self, platform: str, app: str) -> str | None:
        """'throttled', 'congestion', 'error' or None: the fate of an identified API call."""
        f = self.faults
        limit, window_s = {"huawei": (f.huawei_rate_limit, f.rate_window_s),
                           "onenet": (f.onenet_rate_limit, f.rate_window_s),
                           "iotda": (f.iotda_rate_limit, f.iotda_rate_window_s)}[platform]
        now_s = time.monotonic() if f.rate_clock == "real" else self.engine.now_ms / 1000
        if not self.limiter.admit((platform, app), now_s, limit, window_s):
            return "throttled"
        r = self.rngs.api_faults
        congestion, error = r.random() < f.congestion_p, r.random() < f.error_5xx_p
        return "congestion" if congestion else "error" if error else None

    # -- ground truth ------------------------------------------------------------------------
    def truth(self, platform: str | None = None,
              device_id: str | None = None) -> list[dict[str, Any]]:
        commands = [c.to_truth() for c in self.huawei.commands.values()]
        commands += [c.to_truth() for c in self.onenet.commands.values()]
        commands += [c.to_truth() for c in self.iotda.commands.values()]
        selected = [c for c in commands
                    if (platform is None or c["platform"] == platform)
                    and (device_id is None or c["device_id"] == device_id)]
        for c in selected:
            c["history"] = [{**h, "at": ms_to_iso(h["at_ms"])} for h in c["history"]]
        return sorted(selected, key=lambda c: (c["created_ms"], c["platform"]))

    def status(self) -> dict[str, Any]:
        return {
            "now_ms": self.engine.now_ms, "now": ms_to_iso(self.engine.now_ms),
            "speed": self.clock.speed, "seed": self.seed, "events": self.engine.pending(),
            "deliveries": self.outbox.counts(), "devices": len(self.fleet.devices),
            "commands": {"huawei": len(self.huawei.commands),
                         "onenet": len(self.onenet.commands), "iotda": len(self.iotda.commands)},
            "huawei": {"app_id": self.settings.huawei_app_id, "logins": self.tokens.logins},
            "onenet_push": self.onenet.push.to_dict() if self.onenet.push else None,
            "iotda_push": self.forwarder.to_dict(),
            "faults": self.faults.to_dict(),
        }

    # -- threads -----------------------------------------------------------------------------
    def start(self) -> None:
        self.outbox.start()
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="emulator-ticker",
                                            daemon=True)
            self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        self.outbox.stop()

    def _tick(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                self.engine.sync()
                due = self.engine.next_due_ms()
                wait = self.clock.real_seconds_until(due) if due is not None else None
            self._stop.wait(TICK_MAX_S if wait is None else min(max(wait, 0.005), TICK_MAX_S))

"""Timed events on the emulated clock, run in time order, and the seeded random streams.

The engine has no lock of its own: every caller holds the emulator's one lock. An event runs with
`engine.now_ms` set to its own due time, so a day advanced in one call still stamps each state
change with the emulated moment it happened. Given the same API calls and seed, the same events
run in the same order: ties are broken by scheduling order, and randomness comes only from `Rngs`.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import EmulatedClock


@dataclass(order=True)
class Event:
    """One scheduled call; `cancelled` events are skipped when they come due."""

    at_ms: int
    seq: int
    fn: Callable[..., Any] = field(compare=False)
    args: tuple = field(compare=False, default=())
    cancelled: bool = field(compare=False, default=False)


class Engine:
    """A scheduler of timed events on an `EmulatedClock`."""

    def __init__(self, clock: EmulatedClock) -> None:
        self.clock = clock
        self.now_ms = clock.now_ms()
        self._heap: list[Event] = []
        self._seq = itertools.count()

    def at(self, at_ms: int, fn: Callable[..., Any], *args: Any) -> Event:
        """Run `fn(*args)` at `at_ms` (never earlier than now)."""
        event = Event(max(int(at_ms), self.now_ms), next(self._seq), fn, args)
        heapq.heappush(self._heap, event)
        return event

    def after(self, seconds: float, fn: Callable[..., Any], *args: Any) -> Event:
        return self.at(self.now_ms + round(seconds * 1000), fn, *args)

    @staticmethod
    def cancel(event: Event | None) -> None:
        if event is not None:
            event.cancelled = True

    def run_until(self, target_ms: int) -> int:
        """Run every event due at or before `target_ms`, in order; returns how many ran."""
        ran = 0
        while self._heap and self._heap[0].at_ms <= target_ms:
            event = heapq.heappop(self._heap)
            if event.cancelled:
                continue
            self.now_ms = max(self.now_ms, event.at_ms)
            event.fn(*event.args)
            ran += 1
        self.now_ms = max(self.now_ms, target_ms)
        return ran

    def sync(self) -> int:
        """Catch up with the clock."""
        return self.run_until(self.clock.now_ms())

    def next_due_ms(self) -> int | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].at_ms if self._heap else None

    def pending(self) -> int:
        return sum(1 for e in self._heap if not e.cancelled)


class Rngs:
    """Independent seeded streams, so that turning a fault on does not change device behaviour."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.ids = random.Random(f"{seed}:ids")
        self.devices = random.Random(f"{seed}:devices")
        self.api_faults = random.Random(f"{seed}:api-faults")
        self.delivery = random.Random(f"{seed}:delivery")
        self.secrets = random.Random(f"{seed}:secrets")

    def hex32(self) -> str:
        """A Huawei-style id: 32 lower-case hex characters."""
        return f"{self.ids.getrandbits(128):032x}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def token(self) -> str:
        return f"{self.secrets.getrandbits(160):040x}"

    def nonce(self, length: int = 8) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return "".join(self.secrets.choice(alphabet) for _ in range(length))

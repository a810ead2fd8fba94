"""The emulated clock: start + real elapsed x speed + manual advances, in epoch milliseconds.

Speed 0 means the clock moves only when told to (tests); speed 60 runs an hour in a minute.
The clock never goes backwards: changing the speed re-bases it at the current emulated time.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class EmulatedClock:
    """An accelerated, controllable clock."""

    def __init__(self, start_ms: int, speed: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._monotonic = monotonic
        self._base_ms = start_ms
        self._base_real_s = monotonic()
        self.speed = speed

    def now_ms(self) -> int:
        elapsed_s = self._monotonic() - self._base_real_s
        return self._base_ms + int(elapsed_s * 1000 * self.speed)

    def advance(self, seconds: float) -> int:
        """Move the clock forward by `seconds` emulated seconds; returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._base_ms += round(seconds * 1000)
        return self.now_ms()

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._base_ms = self.now_ms()
        self._base_real_s = self._monotonic()
        self.speed = speed

    def real_seconds_until(self, at_ms: int) -> float | None:
        """Real seconds until the clock reaches `at_ms`; None when it would never (speed 0)."""
        if self.speed <= 0:
            return None
        return max(0.0, (at_ms - self.now_ms()) / 1000 / self.speed)

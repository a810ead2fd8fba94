"""Time: the injectable clock and conversions between epoch milliseconds and ISO 8601 UTC.

Inside cmdkeeper, times are epoch milliseconds (compact in Redis) or aware UTC datetimes; the API
shows ISO 8601 UTC strings. Platform formats are converted in `platforms/`, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

#: A clock is any callable returning the current time in epoch milliseconds.
Clock = Callable[[], int]


def system_clock() -> int:
    return time.time_ns() // 1_000_000


def ms_to_iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> int:
        self.now_ms += int(seconds * 1000)
        return self.now_ms

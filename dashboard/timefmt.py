"""Times as an operator reads them: a UTC wall-clock time and how far it is from now."""

from __future__ import annotations

from datetime import UTC, datetime


def wall(ms: int) -> str:
    """`2026-11-22 12:18:05 UTC`."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(ms: int, now_ms: int) -> str:
    """`in 40 s`, `3 min ago`, `now`."""
    delta_s = (ms - now_ms) / 1000
    size = abs(delta_s)
    if size < 1:
        return "now"
    if size < 120:
        amount = f"{size:.0f} s"
    elif size < 7200:
        amount = f"{size / 60:.0f} min"
    elif size < 172_800:
        amount = f"{size / 3600:.0f} h"
    else:
        amount = f"{size / 86_400:.0f} days"
    return f"in {amount}" if delta_s > 0 else f"{amount} ago"


def when(ms: int, now_ms: int) -> str:
    """`2026-11-22 12:18:05 UTC (in 40 s)`."""
    return f"{wall(ms)} ({relative(ms, now_ms)})"

"""Times as an operator reads them: a UTC wall-clock time and how far it is from now."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from markupsafe import Markup, escape

DAY_MS = 86_400_000


def wall(ms: int) -> str:
    """`2026-11-22 12:18:05 UTC`."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def wall_near(ms: int, now_ms: int) -> str:
    """`12:18:05 UTC` on the same UTC day as now, else the full `wall` form."""
    if ms // DAY_MS == now_ms // DAY_MS:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S UTC")
    return wall(ms)


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


def duration(ms: int) -> str:
    """`40 s`, `15 min`, `2 h`: a span without direction."""
    return relative(abs(ms), 0).removeprefix("in ").replace("now", "0 s")


def when(ms: int, now_ms: int) -> str:
    """`12:18:05 UTC (in 40 s)`; the date too when it is not today (UTC)."""
    return f"{wall_near(ms, now_ms)} ({relative(ms, now_ms)})"


#: A `when()` in a sentence: the wall time (with its date unless today) and how far it is.
_WHEN = re.compile(r"(?:(\d{4}-\d\d-\d\d) )?(\d\d:\d\d:\d\d) UTC \((in [^()]+|[^()]+ ago|now)\)")


def ticking(text: str, now_ms: int) -> Markup:
    """`text` escaped, each `when()` in it with its relative part in a `<time data-ms>` element
    that the page's script recomputes every second (the why-lines are plain sentences)."""
    out, last = [], 0
    for match in _WHEN.finditer(text):
        day = match.group(1) or datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d")
        at = datetime.strptime(f"{day} {match.group(2)}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        ms = int(at.timestamp() * 1000)
        out.append(escape(text[last:match.start(3)]))
        out.append(Markup('<time class="rel" data-ms="{}">{}</time>').format(ms, match.group(3)))
        last = match.end(3)
    out.append(escape(text[last:]))
    return Markup("").join(out)

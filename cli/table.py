"""Plain-text tables and times for terminal output."""

from __future__ import annotations

from collections.abc import Sequence

from cmdkeeper.clock import ms_to_iso

#: Columns are separated by this much space.
GAP = "  "


def when(ms: int | None) -> str:
    """An epoch-ms time as ISO 8601 UTC to the second (`2024-01-01T12:00:05Z`), `-` for none."""
    iso = ms_to_iso(ms)
    return "-" if iso is None else iso[:19] + "Z"


def render(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns, as wide as their widest cell; the last column is not padded."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append(GAP.join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)

"""The fleet page's plots: server-rendered inline SVG, no script and nothing from elsewhere.

`fleet_plots` turns the last hour (by minute) or the last day (by five minutes) of flushed
figures (store/series.py) into the charts the fleet page shows: commands created and finished
by state, revocations (stale vs requested), reconcile corrections, callback lag and revocation
lag (median and 95th percentile), queue depth, and platform calls against each platform's
budget. Each chart is an `<svg>` scaled to its card (it reads at 400 px as at 1200), with its
values in `data-values` (tests read them) and a legend naming each line and its total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

from cmdkeeper.config import Config
from cmdkeeper.metric_names import (
    MINUTE_CALLBACK_LAG,
    MINUTE_CORRECTIONS,
    MINUTE_CREATED,
    MINUTE_FINISHED,
    MINUTE_PLATFORM_CALLS,
    MINUTE_REVOCATION_LAG,
    MINUTE_REVOCATIONS,
)
from store.series import Series

WIDTH, HEIGHT = 400, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 8, 20

#: Line colours: the page's state colours (base.html), and a few for the rest.
COLOURS = {"SUCCEEDED": "var(--ok)", "FAILED": "var(--bad)", "TIMEOUT": "var(--timeout)",
           "EXPIRED": "var(--expired)", "CANCELED": "var(--cancel)", "created": "var(--sent)",
           "stale": "var(--pending)", "requested": "var(--cancel)", "p50": "var(--sent)",
           "p95": "var(--bad)", "huawei": "var(--sent)", "onenet": "var(--delivered)",
           "iotda": "var(--pending)"}
_SPARE = ("var(--ink)", "var(--muted)", "var(--timeout)")


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    values: list[float | None]
    dashed: bool = False
    #: Shown in the legend: the sum (counts), or nothing (rates, quantiles, gauges).
    total: bool = True
    #: The COLOURS key to draw it with, when not its own key.
    colour: str | None = None

    @property
    def sum(self) -> float:
        return sum(v for v in self.values if v is not None)


def colour_of(line: Line) -> str:
    return COLOURS.get(line.colour or line.key, "var(--muted)")


@dataclass(frozen=True)
class Plot:
    id: str
    title: str
    unit: str
    lines: list[Line]
    svg: Markup


def _nice(top: float) -> float:
    if top <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(top))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= top)


def _fmt(value: float) -> str:
    return f"{value:g}" if value >= 10 or value == int(value) else f"{value:.2g}"


def _hhmm(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M")


def _svg(title: str, starts_ms: list[int], step_ms: int, lines: list[Line], unit: str) -> Markup:
    n = len(starts_ms)
    top = _nice(max((v for line in lines for v in line.values if v is not None), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (i + 0.5) * plot_w / n

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="plot-svg" '
             f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>']
    for frac in (0, 0.5, 1):
        gy = y(top * frac)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" '
                     f'class="grid"/><text x="{LEFT - 4}" y="{gy + 3:.1f}" class="ylab">'
                     f'{escape(_fmt(top * frac))}</text>')
    for i, anchor in ((0, "start"), (n // 2, "middle"), (n - 1, "end")):
        # the outer labels align to the plot's edges, so none is cut off
        at = LEFT if anchor == "start" else WIDTH - RIGHT if anchor == "end" else x(i)
        parts.append(f'<text x="{at:.1f}" y="{HEIGHT - 5}" class="xlab" '
                     f'text-anchor="{anchor}">{_hhmm(starts_ms[i])}</text>')
    for k, line in enumerate(lines):
        colour = COLOURS.get(line.colour or line.key, _SPARE[k % len(_SPARE)])
        segments, current = [], []
        for i, v in enumerate(line.values):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(f"{x(i):.1f},{y(v):.1f}")
        if current:
            segments.append(current)
        values = ",".join("" if v is None else _fmt(v) for v in line.values)
        dash = ' stroke-dasharray="4 3"' if line.dashed else ""
        parts.append(f'<g class="series" data-key="{escape(line.key)}" '
                     f'data-values="{values}" style="stroke:{colour}">')
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="1.8" style="fill:{colour}"/>')
            else:
                parts.append(f'<polyline points="{" ".join(seg)}" fill="none"{dash}/>')
        parts.append("</g>")
    if unit:
        parts.append(f'<text x="2" y="{TOP + 3}" class="unit">{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def plot(plot_id: str, title: str, series: Series, lines: list[Line], unit: str = "") -> Plot:
    return Plot(plot_id, title, unit, lines,
                _svg(title, series.starts_ms, series.step_ms, lines, unit))


def _calls(series: Series, config: Config, platforms: tuple[str, ...]) -> list[Line]:
    """Each platform's calls (those our own budget let through) and its budget per bucket."""
    minutes = series.step_ms // 60_000
    lines = []
    for platform in platforms:
        made = [a - b for a, b in zip(series.total(MINUTE_PLATFORM_CALLS, platform=platform),
                                      series.total(MINUTE_PLATFORM_CALLS, platform=platform,
                                                   outcome="no_budget"), strict=True)]
        per_min = getattr(config, f"{platform}_rate_per_min", None)
        if per_min is None and hasattr(config, f"{platform}_rate_per_s"):
            per_min = getattr(config, f"{platform}_rate_per_s") * 60
        if not any(made) and per_min is None:
            continue
        lines.append(Line(platform, f"{platform} calls", made))
        if per_min:
            lines.append(Line(f"{platform}-budget", f"{platform} budget ({per_min}/min)",
                              [float(per_min * minutes)] * len(made), dashed=True, total=False,
                              colour=platform))
    return lines


def fleet_plots(series: Series, config: Config, platforms: tuple[str, ...]) -> list[Plot]:
    finished = series.by_label(MINUTE_FINISHED, "state")
    revoked = series.by_label(MINUTE_REVOCATIONS, "reason")
    per = "minute" if series.span == "hour" else "5 minutes"

    def quantiles(name: str) -> list[Line]:
        return [Line("p50", "median", series.quantile(name, 0.5), total=False),
                Line("p95", "95th percentile", series.quantile(name, 0.95), total=False)]

    return [
        plot("plot-commands", f"Commands created and finished, per {per}", series,
             [Line("created", "created", series.total(MINUTE_CREATED))]
             + [Line(state, f"finished {state}", values) for state, values in finished.items()]),
        plot("plot-revocations", f"Revocations, per {per}", series,
             [Line("stale", "stale", revoked.get("stale", [0.0] * len(series.starts_ms))),
              Line("requested", "requested before their deadline",
                   revoked.get("requested", [0.0] * len(series.starts_ms)))]),
        plot("plot-corrections", f"Reconcile corrections (missed callbacks found), per {per}",
             series, [Line("corrections", "corrections", series.total(MINUTE_CORRECTIONS))]),
        plot("plot-callback-lag", "Callback lag (platform event time to receipt)", series,
             quantiles(MINUTE_CALLBACK_LAG), unit="s"),
        plot("plot-revocation-lag", "Revocation lag (stale deadline to cancel accepted)",
             series, quantiles(MINUTE_REVOCATION_LAG), unit="s"),
        plot("plot-queue", "Jobs waiting for a worker (queue depth)", series,
             [Line("queue", "jobs waiting (largest sample)", series.gauge(), total=False)]),
        plot("plot-calls", f"Platform calls against the budget, per {per}", series,
             _calls(series, config, platforms)),
    ]

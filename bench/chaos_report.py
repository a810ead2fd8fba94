"""bench/chaos's settings and report: what a run is asked to do, what it found, and the summary
it prints (see bench/chaos.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cmdkeeper.metric_names import REVOCATION_LAG, REVOCATION_LAG_BUCKETS_S
from cmdkeeper.metrics import le_text
from store.stats import histogram_buckets


@dataclass(frozen=True)
class ChaosSettings:
    huawei_devices: int = 100
    onenet_devices: int = 100
    commands: int = 2000
    seed: int = 7
    speed: float = 30.0  #: emulated seconds per real second
    wake_period_s: float = 600.0  #: emulated
    rate_limit: int = 100  #: our budget, calls per window
    platform_limit: int = 80  #: the platform's, lower: it throttles
    window_s: int = 2  #: both sides' rate window (60 in production; short to keep runs short)
    stale_after_s: int = 15
    reconcile_after_s: int = 20
    sweep_interval_s: int = 1
    token_ttl_s: int = 240  #: emulated
    drop_p: float = 0.2
    duplicate_p: float = 0.1
    reorder_p: float = 0.1
    congestion_p: float = 0.025
    error_5xx_p: float = 0.025
    kill_worker: bool = True
    restart_web: bool = True
    settle_timeout_s: float = 300.0
    create_threads: int = 8


SMALL = ChaosSettings(huawei_devices=10, onenet_devices=10, commands=120, wake_period_s=300,
                      platform_limit=40,
                      stale_after_s=8, reconcile_after_s=10, settle_timeout_s=120)


@dataclass
class ChaosReport:
    settings: dict[str, Any]
    created: int = 0
    create_retries: int = 0
    state_mismatches: list[dict] = field(default_factory=list)
    late_deliveries: list[dict] = field(default_factory=list)
    #: late by no more than the machine stalled meanwhile (bench/stall_probe.py): reported, and
    #: not held against cmdkeeper
    stalled_deliveries: list[dict] = field(default_factory=list)
    #: the longest the stall probe waited beyond its sleep (s)
    worst_stall_s: float = 0.0
    lost_callbacks: list[dict] = field(default_factory=list)
    #: cmdkeeper's own figure (cmdkeeper_revocation_lag_seconds): cancels accepted, by bound.
    revocation_lag: dict[str, Any] = field(default_factory=dict)
    busiest_window: dict[str, int] = field(default_factory=dict)
    throttled_answers: int = 0
    logins: int = 0
    final_states: dict[str, int] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    settle_s: float = 0.0
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        limit = self.settings["rate_limit"]
        return (not self.state_mismatches and not self.late_deliveries
                and not self.lost_callbacks and max(self.busiest_window.values()) <= limit)


def revocation_lag(metric_fields: dict[str, str]) -> dict[str, Any]:
    """From the metrics hash: how many cancels the platforms accepted, and how many of them
    within each bound of the stale deadline that has any (all platforms and modes together)."""
    cumulative, total = {}, 0.0
    for bound, count in histogram_buckets(metric_fields, f"{REVOCATION_LAG.name}_bucket",
                                          REVOCATION_LAG_BUCKETS_S):
        total += count
        if count:
            cumulative[le_text(bound)] = int(total)
    return {"cancels": int(total), "within_s": cumulative}


def iso_ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def summary(report: ChaosReport) -> str:
    r = report
    lines = [
        f"commands created: {r.created} ({r.create_retries} retried creates)",
        f"state mismatches with the platform: {len(r.state_mismatches)}",
        f"stale commands sent beyond the sweep interval: {len(r.late_deliveries)} (and "
        f"{len(r.stalled_deliveries)} no later than the machine stalled meanwhile; longest "
        f"stall {r.worst_stall_s:.2f} s)",
        f"acknowledged callbacks/pushes missing from timelines: {len(r.lost_callbacks)}",
        f"revocation lag (stale deadline to cancel accepted), cancels within each bound: "
        f"{r.revocation_lag.get('within_s', {})} of {r.revocation_lag.get('cancels', 0)}",
        f"busiest {r.settings['window_s']} s window of calls: {r.busiest_window} "
        f"(budget {r.settings['rate_limit']}, platform {r.settings['platform_limit']})",
        f"throttling answers retried: {r.throttled_answers}; Huawei logins: {r.logins}",
        f"final states: {dict(sorted(r.final_states.items()))}",
        f"disruptions: {'; '.join(r.events) or 'none'}",
        f"settled in {r.settle_s:.0f} s; whole run {r.duration_s:.0f} s",
        "PASS" if r.ok else "FAIL",
    ]
    return "\n".join(lines)

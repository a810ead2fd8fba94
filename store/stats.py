"""Fleet statistics read from Redis: the dashboard's `read_fleet_stats` and the snapshot that
`GET /metrics` renders. Both are one pipeline (one round trip), whatever the fleet size.

Where the figures come from:
- commands per state: hashes kept by the create and apply scripts (`keys.command_states`);
- pending age and stale commands: sorted sets of PENDING command ids kept by the same scripts,
  scored by creation time and by stale deadline; counted with ZCOUNT, so O(log N) each;
- queue depth: dramatiq's own queue keys;
- counters and "last hour" / "last day" figures: what every process flushed
  (store/counters.py), kept by bucket for the plots (store/series.py).

Commands recorded before these counts existed are not in them until a script touches them again
(then they are counted in their state at that moment, never subtracted before being added), so
no figure can go negative; `python -m store.stats_backfill` counts all of them at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import redis

from cmdkeeper.metric_names import (
    CALLBACK_LAG_BUCKETS_S,
    MINUTE_CALLBACK_LAG,
    MINUTE_CALLBACKS,
    MINUTE_CALLBACKS_REJECTED,
    MINUTE_CORRECTIONS,
    MINUTE_RECONCILIATIONS,
    MINUTE_REVOCATIONS,
    MINUTE_UNKNOWN_STATUSES,
)
from cmdkeeper.metrics import parse_field
from store import keys
from store.model import PLATFORMS, State
from store.series import Series, bucket_keys, quantile, series_from

#: Upper bounds (seconds) of the pending-age histogram's buckets (+Inf is added).
PENDING_AGE_BUCKETS_S = (60, 300, 900, 1800, 3600, 7200, 21600, 86400, 259200, 604800)

#: Field of the states hash summing the creation times (epoch s) of the PENDING commands.
PENDING_CREATED_SUM = "pending_created_s"

MINUTE_MS = 60_000
HOUR_MINUTES = 60


@dataclass(frozen=True)
class FleetStats:
    """What the dashboard shows about the whole fleet, read at one moment."""

    #: platform -> state -> number of commands (every platform and state present, 0 included).
    by_state: dict[str, dict[str, int]]
    #: PENDING *commands* (not devices) past their stale deadline: waiting for their revocation,
    #: or refused by the platform and waiting for a reconcile to learn what became of them.
    stale_awaiting_revocation: int
    #: Commands cancelled by a revocation in the last hour.
    revocations_last_hour: int
    #: Device reconciliations (history re-queries) finished in the last hour.
    reconciliations_last_hour: int
    #: Statuses those reconciliations learned that callbacks had not brought: missed callbacks
    #: found, and commands cmdkeeper had never seen.
    corrections_last_hour: int
    #: {"p50": s, "p95": s}: receipt time minus the platform's event time, over the last hour's
    #: callbacks that carry one (Huawei v5 `event_time`, OneNET `confirm_time`/`send_time`),
    #: estimated from histogram buckets; None when there was no such callback.
    callback_lag_s: dict[str, float | None]
    #: Messages waiting for a worker on cmdkeeper's queues (ready and delayed, not dead ones), as
    #: dramatiq keeps them in Redis; with BROKER_URL set (RabbitMQ) they are not in Redis: 0.
    queue_depth: int
    #: (platform, reason) -> callbacks not taken in the last hour: refused, or (OneNET) answered
    #: 200 and ignored; only reasons that occurred.
    rejected_last_hour: dict[tuple[str, str], int] = field(default_factory=dict)
    #: platform -> new status reports whose status cmdkeeper does not know, in the last hour.
    unknown_statuses_last_hour: dict[str, int] = field(default_factory=dict)
    #: platform -> callback requests received in the last hour (with or without event time).
    callbacks_last_hour: dict[str, int] = field(default_factory=dict)
    #: reason (stale, requested) -> commands revoked in the last hour.
    revocations_by_reason: dict[str, int] = field(default_factory=dict)
    #: The last hour by minute and (when asked for) the last day by five minutes.
    hour: Series | None = None
    day: Series | None = None


@dataclass(frozen=True)
class QueueDepth:
    ready: int
    delayed: int
    dead: int


@dataclass(frozen=True)
class Snapshot:
    """Everything `/metrics` and the dashboard read, from one pipeline."""

    now_ms: int
    #: platform -> state -> commands.
    states: dict[str, dict[str, int]]
    #: platform -> [(upper bound s, PENDING commands at most that old)], the last bound +inf.
    pending_age: dict[str, list[tuple[float, int]]]
    #: platform -> the ages (s) of its PENDING commands, summed.
    pending_age_sum_s: dict[str, float]
    #: platform -> age (s) of its oldest PENDING command, None when there is none.
    oldest_pending_s: dict[str, float | None]
    #: platform -> PENDING commands past their stale deadline.
    stale_pending: dict[str, int]
    queues: dict[str, QueueDepth]
    #: Flushed counters: field -> value (see store/counters.py); empty unless asked for.
    counters: dict[str, float] = field(default_factory=dict)
    #: The last hour's per-minute figures, summed: field -> value; empty unless asked for.
    last_hour: dict[str, float] = field(default_factory=dict)
    #: The same by minute, and the last day by five minutes (store/series.py), when asked for.
    hour: Series | None = None
    day: Series | None = None


def read_snapshot(client: redis.Redis, now_ms: int, *, counters: bool = True,
                  last_hour: bool = False, last_day: bool = False) -> Snapshot:
    pipe = client.pipeline(transaction=False)
    for platform in PLATFORMS:
        pipe.hgetall(keys.command_states(platform))
        created = keys.pending_by_creation(platform)
        for bound in PENDING_AGE_BUCKETS_S:
            pipe.zcount(created, now_ms - bound * 1000, "+inf")
        pipe.zcard(created)
        pipe.zrange(created, 0, 0, withscores=True)
        pipe.zcount(keys.pending_by_stale_at(platform), "-inf", now_ms)
    for queue in keys.WORK_QUEUES:
        ready, delayed, dead = keys.work_queue_keys(queue)
        pipe.llen(ready)
        pipe.llen(delayed)
        pipe.zcard(dead)
    if counters:
        pipe.hgetall(keys.METRIC_COUNTERS)
    spans = [span for span, wanted in (("hour", last_hour), ("day", last_day)) if wanted]
    for span in spans:
        for _, key in bucket_keys(span, now_ms):
            pipe.hgetall(key)
    replies = iter(pipe.execute())

    states, pending_age, age_sum, oldest, stale = {}, {}, {}, {}, {}
    for platform in PLATFORMS:
        raw = next(replies)
        states[platform] = {s.value: max(0, int(raw.get(s.value, 0))) for s in State}
        bounds = [float(b) for b in PENDING_AGE_BUCKETS_S] + [math.inf]
        pending_age[platform] = [(b, int(next(replies))) for b in bounds]
        count = pending_age[platform][-1][1]
        created_sum_s = int(raw.get(PENDING_CREATED_SUM, 0))
        age_sum[platform] = max(0.0, count * now_ms / 1000 - created_sum_s)
        first = next(replies)
        oldest[platform] = max(0.0, (now_ms - first[0][1]) / 1000) if first else None
        stale[platform] = int(next(replies))
    queues = {q: QueueDepth(*(int(next(replies)) for _ in range(3))) for q in keys.WORK_QUEUES}
    flushed = {f: float(v) for f, v in next(replies).items()} if counters else {}
    series = {span: series_from(span, now_ms, [next(replies) for _ in bucket_keys(span, now_ms)])
              for span in spans}
    summed: dict[str, float] = {}
    for figures in series["hour"].figures if "hour" in series else ():
        for f, v in figures.items():
            if "@" not in f:  # a gauge's samples are not counts
                summed[f] = summed.get(f, 0.0) + float(v)
    return Snapshot(now_ms, states, pending_age, age_sum, oldest, stale, queues, flushed, summed,
                    series.get("hour"), series.get("day"))


def read_fleet_stats(client: redis.Redis, now_ms: int, *, day: bool = False) -> FleetStats:
    """The dashboard's fleet summary at `now_ms` (epoch ms), in one round trip; with `day`,
    the last day's five-minute figures too."""
    snap = read_snapshot(client, now_ms, counters=False, last_hour=True, last_day=day)
    hour = snap.last_hour
    lag = lag_buckets(hour)
    by_reason = {labels["reason"]: n for labels, n in
                 labelled(hour, MINUTE_REVOCATIONS, ("reason",))}
    return FleetStats(
        by_state=snap.states,
        stale_awaiting_revocation=sum(snap.stale_pending.values()),
        # (`revocations` without a reason: counted by a version that did not say)
        revocations_last_hour=sum(by_reason.values()) + int(hour.get(MINUTE_REVOCATIONS, 0)),
        reconciliations_last_hour=int(hour.get(MINUTE_RECONCILIATIONS, 0)),
        corrections_last_hour=int(hour.get(MINUTE_CORRECTIONS, 0)),
        callback_lag_s={"p50": quantile(lag, 0.5), "p95": quantile(lag, 0.95)},
        queue_depth=sum(q.ready + q.delayed for q in snap.queues.values()),
        rejected_last_hour={(labels["platform"], labels["reason"]): n for labels, n in
                            labelled(hour, MINUTE_CALLBACKS_REJECTED, ("platform", "reason"))},
        unknown_statuses_last_hour={labels["platform"]: n for labels, n in
                                    labelled(hour, MINUTE_UNKNOWN_STATUSES, ("platform",))},
        callbacks_last_hour={labels["platform"]: n for labels, n in
                             labelled(hour, MINUTE_CALLBACKS, ("platform",))},
        revocations_by_reason=by_reason,
        hour=snap.hour, day=snap.day,
    )


def labelled(figures: Mapping[str, float], name: str,
             labels: tuple[str, ...]) -> list[tuple[dict[str, str], int]]:
    """The non-zero figures counted under `name` with these labels, summed by label values."""
    sums: dict[tuple[str, ...], float] = {}
    for text, value in figures.items():
        field_name, found = parse_field(text)
        if field_name == name and all(k in found for k in labels):
            key = tuple(found[k] for k in labels)
            sums[key] = sums.get(key, 0.0) + float(value)
    return [(dict(zip(labels, key, strict=True)), int(n)) for key, n in sorted(sums.items())
            if n > 0]


def histogram_buckets(figures: Mapping[str, float | str], metric: str,
                      bounds: Iterable[float]) -> list[tuple[float, float]]:
    """(upper bound, count) of one histogram's buckets among counter fields (summed over their
    other labels), by bound, every bound present (an empty bucket still bounds the next one from
    below)."""
    counts = {float(b): 0.0 for b in bounds} | {math.inf: 0.0}
    for name, value in figures.items():
        field_metric, labels = parse_field(name)
        if field_metric == metric and "le" in labels:
            bound = float(labels["le"])
            counts[bound] = counts.get(bound, 0.0) + float(value)
    return sorted(counts.items())


def lag_buckets(figures: dict[str, float]) -> list[tuple[float, float]]:
    """The callback-lag buckets among per-minute fields (see `histogram_buckets`)."""
    return histogram_buckets(figures, MINUTE_CALLBACK_LAG, CALLBACK_LAG_BUCKETS_S)

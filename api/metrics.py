"""`GET /metrics`: Prometheus text for the whole fleet, whichever web process answers.

Each scrape flushes this process's own counting, reads Redis in one pipeline (store/stats.py) and
renders it with prometheus_client's custom-collector API into a registry of its own: the counters
every process flushed (cmdkeeper/metric_names.py) and gauges computed from the store at this
moment (commands per state, pending age, stale commands, queue depth), and the callback health
guard's alarm per platform (store/callback_health.py, from the last hour's and day's figures).

Auth: with METRICS_TOKEN set, `Authorization: Bearer <METRICS_TOKEN>` (Prometheus's
`authorization` scrape setting) — a token of its own, since the API token may create and revoke
commands. Unset, `/metrics` is open, like `/healthz`: it shows counts by platform, state and
outcome, never an id or a secret.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from cmdkeeper import metric_names  # noqa: F401  (defines every metric, so each is described)
from cmdkeeper.metrics import DEFINED, Counter, Histogram, parse_field
from store.callback_health import health
from store.metrics_flush import flush_now
from store.model import PLATFORMS
from store.stats import Snapshot, read_snapshot
from store.subscriptions import backlog
from web.http import ApiError, bearer_token, tokens_match
from web.services import services

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    svc = services()
    token = svc.config.metrics_token
    if token and not tokens_match(bearer_token(request), token):
        raise ApiError(401, "unauthorized", "/metrics wants Authorization: Bearer <METRICS_TOKEN>")
    client = svc.store.client
    flush_now(client)
    registry = CollectorRegistry(auto_describe=False)
    snapshot = read_snapshot(client, svc.clock(), last_hour=True, last_day=True)
    registry.register(FleetCollector(snapshot, backlog(client)))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class FleetCollector:
    """One snapshot as metric families (prometheus_client's custom-collector protocol)."""

    def __init__(self, snapshot: Snapshot, backlog: dict[str, int]) -> None:
        self.snap, self.backlog = snapshot, backlog

    def collect(self) -> Iterator[Metric]:
        yield from flushed_families(self.snap.counters)
        yield from gauge_families(self.snap)
        waiting = GaugeMetricFamily(
            "cmdkeeper_notify_backlog", "Events of the change feed a subscription has not taken "
            "yet.", labels=("subscription",))
        for sub_id, count in sorted(self.backlog.items()):
            waiting.add_metric([sub_id], count)
        yield waiting


def flushed_families(flushed: dict[str, float]) -> Iterator[Metric]:
    """Every defined counter and histogram, with the samples every process flushed."""
    by_name: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for field, value in flushed.items():
        name, labels = parse_field(field)
        by_name[name].append((labels, value))
    for metric in DEFINED.values():
        if isinstance(metric, Counter):
            family = CounterMetricFamily(metric.name, metric.doc, labels=metric.labelnames)
            for labels, value in sorted(by_name[metric.name], key=_label_key):
                family.add_metric([labels.get(n, "") for n in metric.labelnames], value)
            yield family
        elif isinstance(metric, Histogram):
            yield _histogram(metric, by_name)


def _label_key(item: tuple[dict[str, str], float]) -> list[tuple[str, str]]:
    return sorted(item[0].items())


def _histogram(metric: Histogram, by_name: dict) -> HistogramMetricFamily:
    names = metric.labelnames
    per_bucket: dict[tuple[str, ...], dict[float, float]] = defaultdict(dict)
    for labels, value in by_name[f"{metric.name}_bucket"]:
        per_bucket[tuple(labels.get(n, "") for n in names)][float(labels["le"])] = value
    sums = {tuple(lab.get(n, "") for n in names): v for lab, v in by_name[f"{metric.name}_sum"]}
    family = HistogramMetricFamily(metric.name, metric.doc, labels=names)
    for key in sorted(per_bucket):
        counts, total, buckets = per_bucket[key], 0.0, []
        for bound in metric.buckets:
            total += counts.get(bound, 0.0)
            buckets.append((floatToGoString(bound), total))
        family.add_metric(list(key), buckets, sums.get(key, 0.0))
    return family


def gauge_families(snap: Snapshot) -> Iterator[Metric]:
    commands = GaugeMetricFamily("cmdkeeper_commands", "Commands by platform and state.",
                                 labels=("platform", "state"))
    ages = GaugeHistogramMetricFamily(
        "cmdkeeper_pending_age_seconds", "PENDING commands by time since creation.",
        labels=("platform",))
    oldest = GaugeMetricFamily("cmdkeeper_oldest_pending_age_seconds",
                               "Time since the oldest PENDING command was created.",
                               labels=("platform",))
    stale = GaugeMetricFamily(
        "cmdkeeper_stale_pending_commands",
        "PENDING commands past their stale deadline: awaiting revocation, or refused by the "
        "platform and awaiting a reconcile.", labels=("platform",))
    for platform, states in snap.states.items():
        for state, count in states.items():
            commands.add_metric([platform, state], count)
        buckets = [(floatToGoString(b), n) for b, n in snap.pending_age[platform]]
        ages.add_metric([platform], buckets, snap.pending_age_sum_s[platform])
        if snap.oldest_pending_s[platform] is not None:
            oldest.add_metric([platform], snap.oldest_pending_s[platform])
        stale.add_metric([platform], snap.stale_pending[platform])
    queues = GaugeMetricFamily(
        "cmdkeeper_queue_messages",
        "Messages on cmdkeeper's dramatiq queues in Redis: ready, delayed (retries and follow-ups) "
        "and dead (dead-lettered); 0 with BROKER_URL (RabbitMQ has its own metrics).",
        labels=("queue", "kind"))
    for queue, depth in snap.queues.items():
        queues.add_metric([queue, "ready"], depth.ready)
        queues.add_metric([queue, "delayed"], depth.delayed)
        queues.add_metric([queue, "dead"], depth.dead)
    alarm = GaugeMetricFamily(
        "cmdkeeper_callback_health_alarm",
        "1 while cmdkeeper's answers to the platform's callbacks fail (not 200) or are slow "
        "often enough that the platform would soon disable its callbacks (README.md, \"When the "
        "callback health alarm fires\"); else 0.", labels=("platform",))
    if snap.hour is not None and snap.day is not None:
        for platform in PLATFORMS:
            alarm.add_metric([platform], 1 if health(platform, snap.hour, snap.day).alarm else 0)
    yield from (commands, ages, oldest, stale, queues, alarm)

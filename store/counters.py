"""The Redis side of the process counters (cmdkeeper/metrics.py): adding a process's increments
to the fleet-wide sums, and the field names those sums are kept under.

Every process adds its increments to one hash, `keys.METRIC_COUNTERS`, one field per metric and
label set: `<metric>|<label>=<value>|...`, labels in the metric's own order. Figures the dashboard
shows for "the last hour" also go to a hash per minute (`keys.metric_minute`) that expires after
`MINUTE_TTL_S`. One flush is one MULTI/EXEC: it lands whole or not at all, so a failed flush can
be retried without counting anything twice.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from store import keys

#: Separates a metric name from its labels in a counter field, and the labels from each other.
SEP = "|"
#: Per-minute figures are kept this long: an hour is read, the rest is slack for late flushes.
MINUTE_TTL_S = 2 * 3600

Amount = int | float


def field(name: str, labels: tuple[tuple[str, str], ...] = ()) -> str:
    """The hash field of one metric and label set."""
    return SEP.join((name, *(f"{k}={v}" for k, v in labels)))


def parse_field(text: str) -> tuple[str, dict[str, str]]:
    """(metric name, labels) of a hash field written by `field`."""
    name, *pairs = text.split(SEP)
    labels = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        labels[key] = value
    return name, labels


def add(client: redis.Redis, counts: Mapping[str, Amount],
        minutes: Mapping[int, Mapping[str, Amount]]) -> None:
    """Add increments to the fleet-wide sums (and per-minute figures), in one transaction."""
    if not counts and not minutes:
        return
    pipe = client.pipeline(transaction=True)
    for name, amount in counts.items():
        _incr(pipe, keys.METRIC_COUNTERS, name, amount)
    for minute, figures in minutes.items():
        key = keys.metric_minute(minute)
        for name, amount in figures.items():
            _incr(pipe, key, name, amount)
        pipe.expire(key, MINUTE_TTL_S)
    pipe.execute()


def _incr(pipe: redis.client.Pipeline, key: str, name: str, amount: Amount) -> None:
    # a field is always written the same way: integers stay integers, seconds stay floats
    if isinstance(amount, int):
        pipe.hincrby(key, name, amount)
    else:
        pipe.hincrbyfloat(key, name, amount)

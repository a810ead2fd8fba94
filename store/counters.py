"""The Redis side of the process counters (cmdkeeper/metrics.py): adding a process's increments
to the fleet-wide sums.

Every process adds its increments to one hash, `keys.METRIC_COUNTERS`, one field per metric and
label set (`cmdkeeper.metrics.field`: `<metric>|<label>=<value>|...`). Figures the dashboard
shows for "the last hour" also go to a hash per minute (`keys.metric_minute`) that expires after
`MINUTE_TTL_S`, and to a hash per five minutes (`keys.metric_five`) kept `FIVE_TTL_S` for "the
last day": 60 + 288 small hashes at most, whatever the traffic. A gauge sampled once a minute
(queue depth) is set, not added: in the minute's hash under its name, and in the five-minute
hash under `<name>@<minute within the five>`, so a reader takes the largest of the five. One
flush is one MULTI/EXEC: it lands whole or not at all, so a failed flush can be retried without
counting anything twice.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from store import keys

#: Per-minute figures are kept this long: an hour is read, the rest is slack for late flushes.
MINUTE_TTL_S = 2 * 3600
#: Per-5-minute figures: a day is read, an hour of slack.
FIVE_TTL_S = 25 * 3600
#: Minutes per coarse bucket.
FIVE = 5

Amount = int | float


def add(client: redis.Redis, counts: Mapping[str, Amount],
        minutes: Mapping[int, Mapping[str, Amount]]) -> None:
    """Add increments to the fleet-wide sums (and per-minute figures), in one transaction."""
    if not counts and not minutes:
        return
    pipe = client.pipeline(transaction=True)
    for name, amount in counts.items():
        _incr(pipe, keys.METRIC_COUNTERS, name, amount)
    for minute, figures in minutes.items():
        for key, ttl in ((keys.metric_minute(minute), MINUTE_TTL_S),
                         (keys.metric_five(minute // FIVE), FIVE_TTL_S)):
            for name, amount in figures.items():
                _incr(pipe, key, name, amount)
            pipe.expire(key, ttl)
    pipe.execute()


def set_gauge(client: redis.Redis, minute: int, name: str, value: Amount) -> None:
    """Record a gauge's sample for `minute` (see the module's docstring)."""
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.metric_minute(minute), name, value)
    pipe.expire(keys.metric_minute(minute), MINUTE_TTL_S)
    pipe.hset(keys.metric_five(minute // FIVE), f"{name}@{minute % FIVE}", value)
    pipe.expire(keys.metric_five(minute // FIVE), FIVE_TTL_S)
    pipe.execute()


def _incr(pipe: redis.client.Pipeline, key: str, name: str, amount: Amount) -> None:
    # a field is always written the same way: integers stay integers, seconds stay floats
    if isinstance(amount, int):
        pipe.hincrby(key, name, amount)
    else:
        pipe.hincrbyfloat(key, name, amount)

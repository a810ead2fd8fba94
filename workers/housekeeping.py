"""Retention, run by the clock's full sweeps: what Redis no longer needs to keep goes.

Final commands RETAIN_FINAL_S after they became final (store/retention.py), the tombstones of
removed commands once the feed no longer names them, and feed events older than
EVENTS_RETAIN_S (store/feed.py). Each is bounded per sweep, so a sweep stays short however much
is due; what is left waits for the next one.

It also samples the queue depth for the dashboard's plot (store/series.py): the one gauge the
plots show that no process counts.
"""

from __future__ import annotations

import logging

import redis

from cmdkeeper.config import Config
from cmdkeeper.metric_names import COMMANDS_REMOVED
from store import feed, retention, series
from store.script_calls import Scripts

log = logging.getLogger(__name__)


def sweep(client: redis.Redis, scripts: Scripts, config: Config, now_ms: int) -> dict[str, int]:
    """One round of retention; how many commands, tombstones and events went."""
    removed = retention.remove_due(client, scripts, now_ms, config.retain_final_s)
    for platform, count in removed.items():
        COMMANDS_REMOVED.inc(count, platform=platform)
    done = {
        "commands": sum(removed.values()),
        "tombstones": retention.forget_tombstones(client, scripts, now_ms,
                                                  config.events_retain_s),
        "events": feed.trim(client, scripts, now_ms, config.events_retain_s),
    }
    series.sample_queue_depth(client, now_ms)
    if any(done.values()):
        log.info("retention: removed %(commands)d final command(s), %(tombstones)d "
                 "tombstone(s), %(events)d feed event(s)", done)
    return done

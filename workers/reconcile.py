"""Reconciling one device from the platform's command history.

Every command the platform reports since the device's oldest open command goes through the same
state machine as callbacks (source `reconcile`): missed callbacks are filled in, commands
cmdkeeper never saw are learned, and nothing moves backwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cmdkeeper.clock import Clock
from cmdkeeper.metric_names import count_reconcile
from platforms.gateway import Gateway
from store.commands import CommandStore, OpenCommand
from store.model import Event, Source
from store.ratelimit import Priority

#: How far back to look for a command known only from a callback (its creation time is not
#: known): the platforms' default command lifetime (Huawei: 48 h).
UNKNOWN_LOOKBACK_MS = 48 * 3600 * 1000
#: Slack for the clocks of cmdkeeper and the platform disagreeing.
CLOCK_SLACK_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class ReconcileResult:
    observed: int
    #: Events that changed cmdkeeper's view: missed callbacks found, commands learned.
    corrections: int
    learned: int


def window_start(open_commands: list[OpenCommand], now_ms: int) -> int:
    starts = [
        c.created_ms - (UNKNOWN_LOOKBACK_MS if c.origin == "unknown" else 0)
        for c in open_commands if c.created_ms is not None
    ]
    return (min(starts) if starts else now_ms - UNKNOWN_LOOKBACK_MS) - CLOCK_SLACK_MS


def reconcile_device(store: CommandStore, gateway: Gateway, device_id: str, clock: Clock, *,
                     priority: Priority = Priority.BACKGROUND) -> ReconcileResult:
    platform = gateway.platform
    now = clock()
    since = window_start(store.device_state(platform, device_id).open, now)
    observed = gateway.history(device_id, since, priority)
    outcomes: Counter[str] = Counter()
    for o in observed:
        event = Event(platform, device_id, o.command_id, o.state, o.platform_status,
                      o.at_ms if o.at_ms is not None else now, Source.RECONCILE, o.attempt)
        outcome, _ = store.apply_event(event, now, fill=o.fill)
        outcomes[outcome] += 1
    store.finish_reconcile(platform, device_id, now)
    count_reconcile(platform, outcomes)
    return ReconcileResult(len(observed), outcomes["moved"] + outcomes["created"],
                           outcomes["created"])

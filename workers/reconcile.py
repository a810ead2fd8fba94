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
from store.holdback import expiry_check_ms
from store.model import HOLD_BACK_PLATFORMS, Event, Source, State
from store.ratelimit import Priority

#: How far back to look for a command known only from a callback (its creation time is not
#: known): the platforms' default command lifetime (Huawei: 48 h).
UNKNOWN_LOOKBACK_MS = 48 * 3600 * 1000
#: Slack for the clocks of cmdkeeper and the platform disagreeing.
CLOCK_SLACK_MS = 5 * 60 * 1000


#: A history entry for a command being recorded right now (its device locked: see
#: `CommandStore.apply`) is skipped; the device is reconciled again this much later.
AGAIN_AFTER_WAIT_MS = 10_000


@dataclass(frozen=True)
class ReconcileResult:
    observed: int
    #: Events that changed cmdkeeper's view: missed callbacks found, commands learned.
    corrections: int
    learned: int
    #: A command the hold-back queue had handed over was found final: its device may hand
    #: over the next held one.
    release: bool = False


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
    release = False
    for o in observed:
        event = Event(platform, device_id, o.command_id, o.state, o.platform_status,
                      o.at_ms if o.at_ms is not None else now, Source.RECONCILE, o.attempt)
        applied = store.apply(event, now, fill=o.fill)
        outcomes[applied.outcome] += 1
        release = release or applied.release
    store.finish_reconcile(platform, device_id, now)
    if platform in HOLD_BACK_PLATFORMS:
        # the fresh quiet deadlines may lie past when the platform expires what it still holds
        # PENDING: look right after that instead, in case the push saying so is lost
        expiring = [int(o.fill["expire_at"]) for o in observed
                    if o.state is State.PENDING and int(o.fill.get("expire_at") or 0) > now]
        if expiring:
            store.request_reconcile(platform, device_id, expiry_check_ms(min(expiring)))
    if outcomes["wait"]:
        store.request_reconcile(platform, device_id, now + AGAIN_AFTER_WAIT_MS)
    count_reconcile(platform, outcomes)
    return ReconcileResult(len(observed), outcomes["moved"] + outcomes["created"],
                           outcomes["created"], release)

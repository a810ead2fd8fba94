"""Revoking stale commands of one device (docs/architecture.md, "Revocation").

On a platform that cannot cancel (IoTDA v5), only the commands cmdkeeper holds back are
revoked, and without a platform call (`_held`); one already handed over is the platform's to
expire at its deadline (docs/architecture.md, "The hold-back queue").

When every PENDING command of the device is stale, one bulk cancel does it (Huawei: one cancel
task, whatever the count; OneNET: cancel all); when fresh ones would be caught too, the stale
ones are cancelled one by one. A bulk cancel runs only under the device's lock, which creation
also takes, so a command being created is never caught by it; without the lock, revocation
cancels one by one. Cancelled commands become CANCELED (source `revoke`); a command the platform
sent meanwhile is not marked: its device is reconciled to learn its true state. A cancelled
command keeps who asked for its revocation (`revoke_requested_by`: `clock` for the sweep's own,
else `api`, `cli` or `dashboard`), filled in by the same script that marks it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import uuid4

from cmdkeeper.clock import Clock
from cmdkeeper.metric_names import counts_revocations, observe_revocation_lag
from platforms.errors import PermanentError, RateLimitTimeout, RetryableError, ThrottledError
from platforms.factory import canceled_status
from platforms.gateway import CancelOutcome, Gateway
from store.commands import CommandStore
from store.model import HOLD_BACK_PLATFORMS, Event, Source, State
from store.ratelimit import Priority
from workers.cancel_task import CancelTask

log = logging.getLogger(__name__)

#: How long a bulk cancel may hold the device's lock (a cancel task takes seconds).
BULK_LOCK_TTL_MS = 120_000
#: How long revoking held commands waits for the device's lock (a creation or a release
#: holds it for one platform call).
HELD_LOCK_TTL_MS = 30_000
HELD_LOCK_WAIT_S = 15.0

#: A stale command may be delivered at any moment: a transient platform failure (5xx,
#: congestion, timeout) is retried at once, a few times, before the job's slower retries.
QUICK_ATTEMPTS = 3
QUICK_PAUSE_S = 0.05

T = TypeVar("T")

#: Who asked for a revocation the clock's own sweep sent.
CLOCK = "clock"


def quickly(call: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`, retried at once on a transient failure (not on throttling: that means wait)."""
    for attempt in range(1, QUICK_ATTEMPTS + 1):
        try:
            return call()
        except (ThrottledError, RateLimitTimeout):
            raise
        except RetryableError:
            if attempt == QUICK_ATTEMPTS:
                raise
            sleep(QUICK_PAUSE_S * attempt)
    raise AssertionError("unreachable")


@dataclass
class RevokeResult:
    canceled: list[str] = field(default_factory=list)
    not_canceled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: A bulk cancel still running, holding the device's lock: to be followed (`follow_task`).
    task: CancelTask | None = None
    bulk: bool = False
    #: False when `follow_task` found no call slot in time and could not look at the task.
    looked: bool = True
    #: Held-back commands revoked in cmdkeeper, without a platform call (IoTDA).
    held: bool = False


class DeviceBusy(Exception):
    """Raised when the device's lock stays taken while held commands are to be revoked: the
    job retries (a creation or a release is done in seconds)."""


def _targets(pending: dict[str, int], now: int, only_stale: bool) -> list[str]:
    return [c for c, stale_at in pending.items() if stale_at <= now or not only_stale]


@counts_revocations
def revoke_device(store: CommandStore, gateway: Gateway, device_id: str, clock: Clock, *,
                  only_stale: bool = True, priority: Priority = Priority.REVOKE,
                  requested_by: str = CLOCK) -> RevokeResult:
    """Cancel the device's stale PENDING commands (all PENDING ones with only_stale=False)."""
    platform = gateway.platform
    if platform in HOLD_BACK_PLATFORMS:
        return _held(store, platform, device_id, clock, only_stale)
    now = clock()
    pending = store.device_state(platform, device_id).pending
    targets = _targets(pending, now, only_stale)
    if not targets:
        store.refresh_due(platform, device_id)
        return RevokeResult()
    log.debug("revoking %d command(s) of %s:%s, stale for %d ms", len(targets), platform,
              device_id, now - min(pending[c] for c in targets))
    if len(targets) == len(pending):
        result = _bulk(store, gateway, device_id, clock, only_stale, priority, requested_by)
        if result is not None:
            return result
        pending = store.device_state(platform, device_id).pending
        targets = _targets(pending, clock(), only_stale)
    return _one_by_one(store, gateway, device_id, {c: pending[c] for c in targets}, clock,
                       priority, requested_by)


def _bulk(store: CommandStore, gateway: Gateway, device_id: str, clock: Clock,
          only_stale: bool, priority: Priority, requested_by: str) -> RevokeResult | None:
    """The bulk cancel, under the device lock; None when it does not apply (any more)."""
    platform = gateway.platform
    owner = f"revoke:{uuid4()}"
    if not store.locks.acquire(platform, device_id, owner, BULK_LOCK_TTL_MS):
        return None  # a command is being created: cancel one by one instead
    keep_lock = False
    try:
        # Under the lock, look again: a creation may have finished just before.
        pending = store.device_state(platform, device_id).pending
        targets = _targets(pending, clock(), only_stale)
        if not targets or len(targets) != len(pending):
            return None
        try:
            outcome = quickly(lambda: gateway.cancel_all(device_id, priority))
            observe_revocation_lag(platform, "bulk", min(pending[c] for c in targets), clock())
        except PermanentError as e:
            for command_id in targets:
                store.record_error(platform, device_id, command_id, e.as_dict(), clock())
            return RevokeResult(failed=targets, bulk=True)
        if outcome.pending:
            keep_lock = True  # held until the task has finished: follow_task releases it
            return RevokeResult(task=CancelTask(platform, device_id, outcome.task_id, owner,
                                                tuple(targets),
                                                requested_by=_named(requested_by)), bulk=True)
        result = record_outcome(store, platform, device_id, _accounted(outcome, targets), clock,
                                requested_by)
        result.bulk = True
        return result
    finally:
        if not keep_lock:
            store.locks.release(platform, device_id, owner)


def _held(store: CommandStore, platform: str, device_id: str, clock: Clock,
          only_stale: bool) -> RevokeResult:
    """Revoke the device's held commands that are stale (all held ones with only_stale=False)
    inside cmdkeeper: CANCELED, source revoke, no platform call. Under the device's lock, so
    that a release is not handing one of them over meanwhile."""
    owner = f"revoke:{uuid4()}"
    if not store.locks.acquire_waiting(platform, device_id, owner, HELD_LOCK_TTL_MS,
                                       HELD_LOCK_WAIT_S):
        raise DeviceBusy(f"{platform} device {device_id} is locked")
    try:
        state = store.device_state(platform, device_id)
        now = clock()
        targets = [c for c in state.held if c in _targets(state.pending, now, only_stale)]
        # nothing but held commands should be on the stale index here: anything else would be
        # claimed again and again, so it leaves it (its history is re-checked as usual)
        store.park_uncancellable(platform, device_id,
                                 [c for c in state.pending if c not in state.held])
        for command_id in targets:
            observe_revocation_lag(platform, "held", state.pending[command_id], now)
        result = record_outcome(store, platform, device_id, CancelOutcome(canceled=targets),
                                clock)
    finally:
        store.locks.release(platform, device_id, owner)
    result.held = True
    return result


def _one_by_one(store: CommandStore, gateway: Gateway, device_id: str,
                targets: dict[str, int], clock: Clock, priority: Priority,
                requested_by: str) -> RevokeResult:
    """Cancel each of `targets` (command id -> stale deadline ms) on its own."""
    outcome = CancelOutcome()
    failed = []
    for command_id, stale_at in targets.items():
        try:
            cancelled = quickly(lambda c=command_id: gateway.cancel_one(device_id, c, priority))
            if cancelled:
                observe_revocation_lag(gateway.platform, "single", stale_at, clock())
        except PermanentError as e:
            store.record_error(gateway.platform, device_id, command_id, e.as_dict(), clock())
            failed.append(command_id)
            continue
        (outcome.canceled if cancelled else outcome.not_canceled).append(command_id)
    result = record_outcome(store, gateway.platform, device_id, outcome, clock, requested_by)
    result.failed = failed
    return result


def _accounted(outcome: CancelOutcome, targets: Sequence[str]) -> CancelOutcome:
    """The outcome of a bulk cancel, with every target it does not mention as not cancelled.

    A bulk cancel reports only the commands the platform still held as pending: one it sent
    while its callbacks were lost is not mentioned, and would otherwise stay PENDING and stale,
    to be bulk-cancelled again every sweep. Treated as not cancellable, it is parked and its
    device reconciled, which learns its real state.
    """
    mentioned = {*outcome.canceled, *outcome.not_canceled}
    missing = [c for c in targets if c not in mentioned]
    if not missing:
        return outcome
    return CancelOutcome(canceled=list(outcome.canceled),
                         not_canceled=[*outcome.not_canceled, *missing])


@counts_revocations
def follow_task(store: CommandStore, gateway: Gateway, task: CancelTask, clock: Clock, *,
                priority: Priority = Priority.REVOKE) -> RevokeResult:
    """Look at a running bulk cancel; record its results and free the device once it is done.
    While it runs, the result carries the task with this look counted. With no call slot in
    time (`priority` may be a low one: the platform has the cancel already), the result says it
    did not look and carries the task as it was."""
    platform, device_id, owner = gateway.platform, task.device_id, task.lock_owner
    try:
        outcome = quickly(lambda: gateway.follow(device_id, task.task_id, priority))
    except RateLimitTimeout:
        # The platform has the cancel and runs it meanwhile: look later, still holding the
        # device so that no creation slips into the task.
        if owner:
            store.locks.extend(platform, device_id, owner, BULK_LOCK_TTL_MS)
        return RevokeResult(task=task, bulk=True, looked=False)
    except PermanentError:
        if owner:
            store.locks.release(platform, device_id, owner)
        store.request_reconcile(platform, device_id, clock())
        raise
    if outcome.pending:
        if owner:
            store.locks.extend(platform, device_id, owner, BULK_LOCK_TTL_MS)
        return RevokeResult(task=task.looked(), bulk=True)
    if owner:
        store.locks.release(platform, device_id, owner)
    result = record_outcome(store, platform, device_id, _accounted(outcome, task.targets), clock,
                            task.requested_by or CLOCK)
    result.bulk = True
    return result


def _named(requested_by: str) -> str | None:
    # the clock's own revocations travel without a name: messages stay as earlier versions read
    return None if requested_by == CLOCK else requested_by


def record_outcome(store: CommandStore, platform: str, device_id: str, outcome: CancelOutcome,
                   clock: Clock, requested_by: str = CLOCK) -> RevokeResult:
    now = clock()
    for command_id in outcome.canceled:
        store.apply_event(Event(platform, device_id, command_id, State.CANCELED,
                                canceled_status(platform), now, Source.REVOKE), now,
                          fill={"revoke_requested_by": requested_by})
    if outcome.not_canceled:
        # Sent meanwhile (or otherwise beyond cancelling): history knows its true state, and
        # until it is learned, the next sweeps must not ask the platform again.
        store.park_uncancellable(platform, device_id, outcome.not_canceled)
        store.request_reconcile(platform, device_id, now)
    store.refresh_due(platform, device_id)
    if outcome.canceled or outcome.not_canceled:
        log.info("revoked %d command(s) of %s:%s, %d no longer cancellable",
                 len(outcome.canceled), platform, device_id, len(outcome.not_canceled))
    return RevokeResult(list(outcome.canceled), list(outcome.not_canceled))

"""The dramatiq actors: each states its retries, backoff and time limit, and calls one function.

Messages carry plain values (ids, states, times), never objects.
"""

from __future__ import annotations

import logging

import dramatiq

from platforms.errors import PermanentError, RateLimitTimeout
from store import keys
from store.model import HOLD_BACK_PLATFORMS
from store.ratelimit import Priority
from workers import broker, events, holdback, reconcile, revoke, runtime
from workers.cancel_task import FIRST_POLL_MS, CancelTask

broker.current()  # bind the actors below to cmdkeeper's broker, never dramatiq's default

log = logging.getLogger(__name__)

#: Queue of every cmdkeeper actor but the revoking ones.
QUEUE = keys.WORK_QUEUE
#: Revocations have a queue of their own: a worker orders by priority only the few messages it
#: has fetched, so a revocation queued behind hundreds of reconciles would wait its turn. This
#: queue is short, and each worker fetches from both.
REVOKE_QUEUE = keys.REVOKE_QUEUE

#: A malformed message will never apply: fail it at once instead of retrying.
MALFORMED = (KeyError, ValueError, TypeError)

#: Applying an event only fails while Redis is away: retry often, not for long.
APPLY_MAX_RETRIES = 10
APPLY_MIN_BACKOFF_MS = 200
APPLY_MAX_BACKOFF_MS = 30_000
APPLY_TIME_LIMIT_MS = 10_000

#: Platform jobs: a few retries with backoff for throttling and outages; permanent errors end
#: the job at once (they are recorded on the commands). The clock's lease re-offers the work
#: after the last retry.
JOB_MAX_RETRIES = 5
JOB_MIN_BACKOFF_MS = 500
JOB_MAX_BACKOFF_MS = 60_000
JOB_TIME_LIMIT_MS = 120_000


def _priority(user: bool) -> Priority:
    return Priority.USER if user else Priority.BACKGROUND


#: Revoking a stale command goes first, whoever asked: the device may wake any moment.
REVOKE = Priority.REVOKE
#: Following a cancel task the platform already has is bookkeeping: it comes after revocations
#: and gives its thread back when the budget is short.
FOLLOW = Priority.BACKGROUND


#: Order in which a worker runs the messages it holds (lower first): a stale command may be
#: delivered any moment; an event is quick; a reconcile can wait.
REVOKE_PRIORITY, APPLY_PRIORITY, RECONCILE_PRIORITY = 0, 10, 20
#: A reconcile that found no call budget and has no deadline of its own (an operator's) comes
#: back this much later (not as a retry storm).
RECONCILE_LATER_MS = 10_000


@dramatiq.actor(queue_name=QUEUE, max_retries=APPLY_MAX_RETRIES,
                min_backoff=APPLY_MIN_BACKOFF_MS, max_backoff=APPLY_MAX_BACKOFF_MS,
                time_limit=APPLY_TIME_LIMIT_MS, throws=MALFORMED, priority=APPLY_PRIORITY)
def apply_event(event: dict) -> None:
    rt = runtime.current()
    if events.apply_event(rt.store, event, rt.clock).release:
        release_held.send(event["platform"], event["device_id"])


_JOB = dict(queue_name=QUEUE, max_retries=JOB_MAX_RETRIES, min_backoff=JOB_MIN_BACKOFF_MS,
            max_backoff=JOB_MAX_BACKOFF_MS, time_limit=JOB_TIME_LIMIT_MS,
            throws=(PermanentError, *MALFORMED))


_REVOKE_JOB = {**_JOB, "queue_name": REVOKE_QUEUE, "priority": REVOKE_PRIORITY}


@dramatiq.actor(**_REVOKE_JOB)
def revoke_device(platform: str, device_id: str, only_stale: bool = True,
                  requested_by: str | None = None) -> None:
    """`requested_by`: who asked (api, dashboard); None for the clock's own sweep."""
    rt = runtime.current()
    result = revoke.revoke_device(rt.store, rt.gateway(platform), device_id, rt.clock,
                                  only_stale=only_stale, priority=REVOKE,
                                  requested_by=requested_by or revoke.CLOCK)
    if result.task:
        follow_later(result.task, delay_ms=result.task.next_delay_ms)


def follow_later(task: CancelTask, delay_ms: int | None = None) -> None:
    """Queue a look at a running cancel task (the CLI hands its tasks over with it too)."""
    follow_cancel_task.send_with_options(**task.to_message(), delay=delay_ms)


# The parameters are the message's plain values (CancelTask.to_message), kept as they were so
# that messages queued by earlier versions, and dead letters replayed, still fit.
@dramatiq.actor(**_REVOKE_JOB)
def follow_cancel_task(platform: str, device_id: str, task_id: str, lock_owner: str | None,
                       polls: int = 0, targets: list[str] | None = None,
                       requested_by: str | None = None) -> None:
    rt = runtime.current()
    task = CancelTask.from_message(platform, device_id, task_id, lock_owner, polls, targets,
                                   requested_by)
    result = revoke.follow_task(rt.store, rt.gateway(platform), task, rt.clock, priority=FOLLOW)
    if not result.task:
        return
    if not result.looked:  # no call slot: come back, and it does not count as a look
        follow_later(result.task, delay_ms=FIRST_POLL_MS)
        return
    if result.task.out_of_looks:
        log.warning("cancel task %s of %s:%s still running after %d looks; reconciling instead",
                    task_id, platform, device_id, task.polls)
        if task.lock_owner:
            rt.store.locks.release(platform, device_id, task.lock_owner)
        rt.store.request_reconcile(platform, device_id, rt.clock())
        return
    follow_later(result.task, delay_ms=result.task.next_delay_ms)


@dramatiq.actor(**_JOB, priority=RECONCILE_PRIORITY)
def reconcile_device(platform: str, device_id: str, user: bool = False,
                     due_ms: int | None = None) -> None:
    rt = runtime.current()
    try:
        result = reconcile.reconcile_device(rt.store, rt.gateway(platform), device_id, rt.clock,
                                            priority=_priority(user))
    except RateLimitTimeout:
        # the slot the clock saw went to more urgent work: the device keeps its place in the
        # deadline order (due again at its own deadline), and the thread is free meanwhile
        at = due_ms if due_ms is not None else rt.clock() + RECONCILE_LATER_MS
        rt.store.request_reconcile(platform, device_id, at)
        return
    if result.release:
        release_held.send(platform, device_id)


#: A release hands a waiting command over: after revocations, level with applying events.
RELEASE_PRIORITY = APPLY_PRIORITY


@dramatiq.actor(**_JOB, priority=RELEASE_PRIORITY)
def release_held(platform: str, device_id: str) -> None:
    """Hand the device's held-back commands to the platform while it has room (IoTDA)."""
    if platform not in HOLD_BACK_PLATFORMS:
        raise PermanentError(platform, "no_hold_back", f"{platform} holds nothing back")
    rt = runtime.current()
    holdback.release_device(rt.store, rt.gateway(platform), device_id, rt.clock,
                            in_flight_limit=rt.config.iotda_in_flight_per_device)


#: Deliveries: a failed run is tried again by its own backoff (workers/notify.py), not by
#: dramatiq's retries; a run that crashed is picked up by the clock's next look.
NOTIFY_TIME_LIMIT_MS = 60_000
NOTIFY_PRIORITY = 5


@dramatiq.actor(queue_name=keys.NOTIFY_QUEUE, max_retries=0, time_limit=NOTIFY_TIME_LIMIT_MS,
                priority=NOTIFY_PRIORITY)
def deliver_events(subscription_id: str) -> None:
    rt = runtime.current()
    result = rt.deliverer.run(subscription_id)
    if result.more:
        deliver_events.send(subscription_id)
    elif result.retry_at_ms is not None:
        deliver_events.send_with_options(args=(subscription_id,),
                                         delay=max(0, result.retry_at_ms - rt.clock()))

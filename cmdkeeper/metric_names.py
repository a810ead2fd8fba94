"""Every counter and histogram cmdkeeper keeps, in one place: name, help and labels.

Code counts with one line, e.g. `metric_names.REVOCATIONS.inc(platform="huawei", reason="stale")`.
Labels are low-cardinality words (platform, state, outcome, reason...), never a device or command
id. The gauges (commands per state, pending age, stale commands, queue depth) are not counted
here: `/metrics` reads them from Redis at scrape time (api/metrics.py, store/stats.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from cmdkeeper.metrics import Counter, Histogram

F = TypeVar("F", bound=Callable[..., Any])

#: Upper bounds (seconds) of the callback-lag histogram's buckets (+Inf is added).
CALLBACK_LAG_BUCKETS_S = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

#: Fields of the per-minute (and per-5-minute) figures behind the dashboard's "last hour" and
#: "last day" (store/stats.py and store/series.py read them), some by label:
#: `revocations|reason=stale`, `callbacks_rejected|platform=onenet|reason=bad_signature`, ...
MINUTE_REVOCATIONS = "revocations"
MINUTE_RECONCILIATIONS = "reconciliations"
MINUTE_CORRECTIONS = "corrections"
MINUTE_CALLBACK_LAG = "callback_lag"
MINUTE_CALLBACKS_REJECTED = "callbacks_rejected"
MINUTE_UNKNOWN_STATUSES = "unknown_statuses"
MINUTE_CREATED = "created"
MINUTE_FINISHED = "finished"
MINUTE_REVOCATION_LAG = "revocation_lag"
MINUTE_PLATFORM_CALLS = "platform_calls"
MINUTE_CALLBACKS = "callbacks"
MINUTE_CALLBACK_FAILURES = "callback_failures"
MINUTE_CALLBACK_SLOW = "callback_slow"
#: A gauge sampled once a minute by the leading clock (store/series.py `sample_queue_depth`).
MINUTE_QUEUE_DEPTH = "queue_depth"

#: An answer to a platform's callback slower than this (seconds) counts as slow: a third or
#: less of how long the platform waits (Huawei and IoTDA 15 s, OneNET 5 s), so the count rises
#: well before the platform starts counting timeouts as failures.
CALLBACK_SLOW_S = {"huawei": 5.0, "onenet": 1.5, "iotda": 5.0}

CALLBACKS_RECEIVED = Counter(
    "cmdkeeper_callbacks_received_total",
    "Callback requests received (POST), whatever became of them.", ("platform",),
    window=MINUTE_CALLBACKS, window_labels=("platform",))
CALLBACK_FAILURES = Counter(
    "cmdkeeper_callback_failures_total",
    "Callback requests cmdkeeper answered with something else than 200, by status: the "
    "platforms count these (Huawei disables a callback URL after 10 in a row, IoTDA blocklists "
    "the host, OneNET disables the push after 2,000 or 24 h of them).", ("platform", "status"),
    window=MINUTE_CALLBACK_FAILURES, window_labels=("platform",))
CALLBACK_SLOW = Counter(
    "cmdkeeper_callback_slow_total",
    "Callback requests answered more slowly than a third of the platform's timeout "
    "(CALLBACK_SLOW_S: Huawei and IoTDA 5 s, OneNET 1.5 s).", ("platform",),
    window=MINUTE_CALLBACK_SLOW, window_labels=("platform",))
CALLBACK_EVENTS = Counter(
    "cmdkeeper_callback_events_total",
    "Status reports in accepted callbacks: outcome=enqueued (new) or duplicate (a re-push "
    "dropped at the door).", ("platform", "outcome"))
CALLBACKS_REJECTED = Counter(
    "cmdkeeper_callbacks_rejected_total",
    "Callbacks not taken, by reason: the error code of a refused callback (bad_json, not_found "
    "for a wrong token, storage_unavailable, ...), or why a OneNET push (or one message of a "
    "batched push) answered 200 was ignored (bad_signature, undecryptable, bad_field, ...).",
    ("platform", "reason"), window=MINUTE_CALLBACKS_REJECTED,
    window_labels=("platform", "reason"))
UNKNOWN_STATUSES = Counter(
    "cmdkeeper_callback_unknown_statuses_total",
    "New status reports whose status cmdkeeper does not know: answered 200, kept in the "
    "timeline as not applied, and their devices reconciled.", ("platform",),
    window=MINUTE_UNKNOWN_STATUSES, window_labels=("platform",))
CALLBACK_LAG = Histogram(
    "cmdkeeper_callback_lag_seconds",
    "Receipt time minus the platform's event time, for new status reports that carry one "
    "(Huawei v5 event_time, OneNET confirm_time/send_time).",
    ("platform",), CALLBACK_LAG_BUCKETS_S, window=MINUTE_CALLBACK_LAG)

EVENTS_APPLIED = Counter(
    "cmdkeeper_events_applied_total",
    "Status events applied to the store, by source (callback, reconcile, revoke) and outcome: "
    "created and moved changed a command; late, duplicate and unchanged were ignored; unknown "
    "(a status cmdkeeper does not know) was noted on the timeline and its device reconciled.",
    ("platform", "source", "outcome"))

REVOCATIONS = Counter(
    "cmdkeeper_revocations_total",
    "Commands cancelled by a revocation; reason=stale when the command was past its stale "
    "deadline (staleness or a newer command superseding it), requested when an operator revoked "
    "it before then.", ("platform", "reason"), window=MINUTE_REVOCATIONS,
    window_labels=("reason",))
REVOCATION_RESULTS = Counter(
    "cmdkeeper_revocation_results_total",
    "Commands a revocation dealt with, by mode (bulk: one cancel task or cancel-all; single: one "
    "cancel per command; held: held back in cmdkeeper (IoTDA), revoked without a platform call) "
    "and result (canceled, not_cancellable: sent meanwhile, failed: refused for good).",
    ("platform", "mode", "result"))

#: Buckets of the revocation lag, in seconds: what matters is how far below SWEEP_INTERVAL_S.
REVOCATION_LAG_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
REVOCATION_LAG = Histogram(
    "cmdkeeper_revocation_lag_seconds",
    "From a stale command's deadline to the platform accepting its cancel (a bulk cancel: its "
    "device's oldest stale command; a OneNET command waiting again after a failed send: its "
    "first deadline). The platform may deliver the command until then; revocations an operator "
    "asked for before the deadline are not counted.",
    ("platform", "mode"), REVOCATION_LAG_BUCKETS_S, window=MINUTE_REVOCATION_LAG)

RECONCILIATIONS = Counter(
    "cmdkeeper_reconciliations_total",
    "Device reconciliations (history re-queries) finished.", ("platform",),
    window=MINUTE_RECONCILIATIONS)
RECONCILE_CORRECTIONS = Counter(
    "cmdkeeper_reconcile_corrections_total",
    "Statuses reconciliation learned that callbacks had not brought: kind=missed_callback (a "
    "known command moved) or unknown_command (a command cmdkeeper had never seen).",
    ("platform", "kind"), window=MINUTE_CORRECTIONS)

PLATFORM_CALLS = Counter(
    "cmdkeeper_platform_calls_total",
    "Calls to a platform API by operation and outcome (ok, throttled, token_invalid, timeout, "
    "connection, retryable, permanent, no_budget: our own rate limit had no slot in time).",
    ("platform", "operation", "outcome"), window=MINUTE_PLATFORM_CALLS,
    window_labels=("platform", "outcome"))

RATE_LIMIT_WAITS = Counter(
    "cmdkeeper_rate_limit_waits_total",
    "Platform calls that had to wait for a slot of the shared call budget, by priority "
    "(revoke, create, user, background) and result (acquired, timed_out).",
    ("platform", "priority", "result"))
RATE_LIMIT_WAIT_SECONDS = Counter(
    "cmdkeeper_rate_limit_wait_seconds_total",
    "Seconds spent waiting for a slot of the shared call budget.", ("platform", "priority"))

NOTIFY_DELIVERIES = Counter(
    "cmdkeeper_notify_deliveries_total",
    "Outbound webhook deliveries by subscription and outcome: delivered (2xx), failed (another "
    "answer, no answer within 10 s, no connection: retried), gone (410: the subscription is "
    "disabled).", ("subscription", "outcome"))
#: Buckets of the notification lag, in seconds.
NOTIFY_LAG_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600)
NOTIFY_LAG = Histogram(
    "cmdkeeper_notify_lag_seconds",
    "From cmdkeeper applying a change of state to the subscriber's 2xx for its event.",
    ("subscription",), NOTIFY_LAG_BUCKETS_S)
COMMANDS_REMOVED = Counter(
    "cmdkeeper_commands_removed_total",
    "Final commands removed RETAIN_FINAL_S after they became final.", ("platform",))

COMMANDS_CREATED = Counter(
    "cmdkeeper_commands_created_total",
    "Commands created through cmdkeeper (accepted by the platform and recorded).", ("platform",),
    window=MINUTE_CREATED)
COMMANDS_FINISHED = Counter(
    "cmdkeeper_commands_finished_total",
    "Commands that reached a final state (SUCCEEDED, FAILED, TIMEOUT, EXPIRED, CANCELED), "
    "whatever brought the news.", ("platform", "state"), window=MINUTE_FINISHED,
    window_labels=("state",))

TOKEN_RENEWALS = Counter(
    "cmdkeeper_token_renewals_total",
    "Access tokens obtained from the platform: kind=login or refresh.", ("platform", "kind"))


# -- counting helpers: one call at each place that counts ------------------------------------

_APPLIED_BY_SCRIPT = ("created", "moved")


def count_applied(event, outcome: str, was_stale: bool) -> None:
    """An event went through the store's state machine (store.CommandStore's `on_applied`)."""
    platform, source = event.platform, event.source.value
    EVENTS_APPLIED.inc(platform=platform, source=source, outcome=outcome)
    if outcome in _APPLIED_BY_SCRIPT and event.state is not None and event.state.terminal:
        COMMANDS_FINISHED.inc(platform=platform, state=event.state.value)
    if source == "revoke" and outcome == "moved" and event.state == "CANCELED":
        REVOCATIONS.inc(platform=platform, reason="stale" if was_stale else "requested")


def count_callbacks(platform: str, events: list, enqueued: list[bool], received_ms: int) -> None:
    """Status reports of an accepted callback: new or duplicate, and how late the new ones came.
    An event whose time is its receipt time carried no platform time: it has no lag."""
    for event, new in zip(events, enqueued, strict=True):
        CALLBACK_EVENTS.inc(platform=platform, outcome="enqueued" if new else "duplicate")
        if new and event.state is None:
            UNKNOWN_STATUSES.inc(platform=platform)
        if new and event.at_ms != received_ms:
            CALLBACK_LAG.observe(max(0.0, (received_ms - event.at_ms) / 1000), platform=platform)


def observe_revocation_lag(platform: str, mode: str, stale_at_ms: int, now_ms: int) -> None:
    """A cancel was accepted at `now_ms` for a command stale since `stale_at_ms` (if it is
    stale at all: an operator's early revocation has no lag)."""
    if stale_at_ms <= now_ms:
        REVOCATION_LAG.observe((now_ms - stale_at_ms) / 1000, platform=platform, mode=mode)


def count_reconcile(platform: str, outcomes: dict[str, int]) -> None:
    """A reconcile finished; `outcomes` counts its events by store outcome."""
    RECONCILIATIONS.inc(platform=platform)
    RECONCILE_CORRECTIONS.inc(outcomes.get("moved", 0), platform=platform, kind="missed_callback")
    RECONCILE_CORRECTIONS.inc(outcomes.get("created", 0), platform=platform,
                              kind="unknown_command")


def count_rate_limit_wait(budget: str, priority, waited_s: float, acquired: bool) -> None:
    """A caller of the shared call budget waited for a slot and got one, or gave up waiting
    (store.ratelimit.RateLimiter's `on_wait`)."""
    platform = budget.partition(":")[0]  # `huawei:<app id>`: the app id stays out of labels
    level = getattr(priority, "name", str(priority)).lower()
    RATE_LIMIT_WAITS.inc(platform=platform, priority=level,
                         result="acquired" if acquired else "timed_out")
    RATE_LIMIT_WAIT_SECONDS.inc(waited_s, platform=platform, priority=level)


def count_delivery(subscription: str, outcome: str, *, lag_s: float | None = None) -> None:
    """One outbound webhook delivery attempt; a delivered one with its lag."""
    NOTIFY_DELIVERIES.inc(subscription=subscription, outcome=outcome)
    if lag_s is not None:
        NOTIFY_LAG.observe(max(0.0, lag_s), subscription=subscription)


def counts_revocations(fn: F) -> F:
    """Decorates workers/revoke.py's `revoke_device` and `follow_task` (`fn(store, gateway, ...)
    -> RevokeResult`): counts the commands each call dealt with, by mode and result."""

    @functools.wraps(fn)
    def call(store, gateway, *args, **kwargs):
        result = fn(store, gateway, *args, **kwargs)
        mode = "held" if result.held else "bulk" if result.bulk else "single"
        for name, ids in (("canceled", result.canceled), ("failed", result.failed),
                          ("not_cancellable", result.not_canceled)):
            REVOCATION_RESULTS.inc(len(ids), platform=gateway.platform, mode=mode, result=name)
        return result

    return call  # type: ignore[return-value]

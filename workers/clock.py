"""The `clock` process: every SWEEP_INTERVAL_S, claim due devices and hand them to the workers
(revocations and reconciles are looked for a few times per interval).

Exactly one clock works at a time: each sweep first takes (or renews) a Redis lock with a TTL of
a few intervals, so a second clock stays idle and takes over only when the first one is gone.
A claimed device's deadline moves a lease ahead, so a job still running is not handed out again;
the job re-points the deadline when it ends, and if it dies the lease runs out.

Revocations look one interval ahead: a device whose command becomes stale before the next sweep
is claimed now and the clock sends its job at the very deadline, so a stale command is revoked
when it becomes stale, not up to a sweep interval later. (The clock holds these few jobs itself
rather than as delayed messages in a worker, which would lose them for a while if it died.)

Reconciles are claimed by room: each platform's call budget says how many calls background work
could make now (store/ratelimit.py `room()`), and the clock claims that many due devices of the
platform, earliest deadline first. A backlog after an outage is so handed out in deadline order
at the background share's rate, and a device due while the budget has room is reconciled within
a quarter of a sweep interval of its deadline.

The leading clock also starts outbound webhook deliveries for subscriptions behind the change
feed (workers/notifier.py, several times a second) and runs retention on each full sweep
(workers/housekeeping.py).
"""

from __future__ import annotations

import heapq
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from dramatiq.errors import BrokerError

from cmdkeeper import request_ids
from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import Config
from cmdkeeper.logs import setup_logging
from platforms.factory import budget, configured_platforms
from store import connection, keys
from store.due import claim_by_quota, claim_due
from store.locks import OwnedLock
from store.metrics_flush import start_flusher
from store.ratelimit import RateLimiter
from store.script_calls import Scripts
from workers import broker, housekeeping
from workers.notifier import CHECK_MS as NOTIFY_CHECK_MS
from workers.notifier import Notifier

log = logging.getLogger("cmdkeeper.clock")

#: The lock outlives a missed sweep or two, not more: a dead clock is replaced this fast.
LOCK_TTL_INTERVALS = 3
#: How long a claimed device is left to its job before it is offered again.
CLAIM_LEASE_MS = 10 * 60 * 1000
#: Most devices handed out per index per sweep (the rest wait for the next sweep).
CLAIM_LIMIT = 1000


#: Revocations are looked for this many times per sweep interval: a device whose deadline a job
#: moved into the coming interval after a sweep (its next command goes stale soon after the one
#: just revoked) is claimed within a fraction of the interval, not up to a whole one late.
REVOKE_CHECKS_PER_SWEEP = 4

#: A device's revocation is sent again no sooner than this after the last one (see Dispatcher).
REPEAT_GAP_MS = 500

#: A revocation sent at its deadline goes this much after it, so that it never looks a hair
#: too early (the processes' clocks agree only to a few milliseconds).
DEADLINE_SLACK_MS = 20


@dataclass(frozen=True)
class Claimed:
    """Claimed devices as (platform, device id, deadline ms), and when they were claimed."""

    now_ms: int
    revoke: list[tuple[str, str, int]]
    reconcile: list[tuple[str, str, int]]
    #: Devices whose held-back commands (IoTDA) may go to the platform, and whose release job
    #: did not run in time (docs/architecture.md, "The hold-back queue").
    release: list[tuple[str, str, int]] = field(default_factory=list)


def claim(client: redis.Redis, scripts: Scripts, now_ms: int, lookahead_ms: int = 0, *,
          reconcile: bool = True, reconcile_room: dict[str, int] | None = None) -> Claimed:
    """Claim due revocations (and those due within `lookahead_ms`), due releases and, unless
    told not to, due reconciliations: with `reconcile_room` (platform -> how many its budget
    has room for now), at most that many per platform, earliest deadline first; without it,
    all that are due."""
    if not reconcile:
        reconciles = []
    elif reconcile_room is None:
        reconciles = claim_due(client, scripts, keys.DUE_RECONCILE, now_ms,
                               lease_ms=CLAIM_LEASE_MS, limit=CLAIM_LIMIT)
    else:
        reconciles = claim_by_quota(scripts, keys.DUE_RECONCILE, now_ms,
                                    {p: min(n, CLAIM_LIMIT) for p, n in reconcile_room.items()},
                                    lease_ms=CLAIM_LEASE_MS, scan_limit=CLAIM_LIMIT)
    return Claimed(
        now_ms,
        claim_due(client, scripts, keys.DUE_REVOKE, now_ms, lease_ms=CLAIM_LEASE_MS,
                  limit=CLAIM_LIMIT, lookahead_ms=lookahead_ms),
        reconciles,
        claim_due(client, scripts, keys.DUE_RELEASE, now_ms, lease_ms=CLAIM_LEASE_MS,
                  limit=CLAIM_LIMIT),
    )


Send = Callable[[str, str], None]
SendReconcile = Callable[[str, str, int], None]


def _send_revoke(platform: str, device_id: str) -> None:
    from workers import actors

    actors.revoke_device.send(platform, device_id)


def _send_reconcile(platform: str, device_id: str, due_ms: int) -> None:
    from workers import actors

    actors.reconcile_device.send(platform, device_id, False, due_ms)


def _send_release(platform: str, device_id: str) -> None:
    from workers import actors

    actors.release_held.send(platform, device_id)


class Dispatcher:
    """Sends claimed jobs: due ones at once, upcoming revocations at their deadline.

    A device is claimed again whenever something re-points its deadline (a creation, a
    reconcile) while its job has not run yet, so one device can be claimed twice within a
    moment. Two revocations of one device at once would cancel the same command twice (the
    second is refused and parks it for a reconcile), so a device already waiting here is not
    added again, and one sent moments ago goes again only after `REPEAT_GAP_MS`: by then the
    first job has run and the second finds what is really left.
    """

    def __init__(self, send_revoke: Send = _send_revoke,
                 send_reconcile: SendReconcile = _send_reconcile,
                 send_release: Send = _send_release) -> None:
        self.send_revoke, self.send_reconcile = send_revoke, send_reconcile
        self.send_release = send_release
        self.upcoming: list[tuple[int, str, str]] = []  # a heap of (send at, platform, device)
        self.waiting: set[tuple[str, str]] = set()
        self.sent_ms: dict[tuple[str, str], int] = {}

    def __call__(self, claimed: Claimed) -> None:
        now = claimed.now_ms
        for platform, device_id, due_ms in claimed.revoke:
            device = (platform, device_id)
            if device in self.waiting:
                continue
            at = due_ms + DEADLINE_SLACK_MS if due_ms > now else now
            at = max(at, self.sent_ms.get(device, at - REPEAT_GAP_MS) + REPEAT_GAP_MS)
            if at <= now:
                self._revoke(device, now)
            else:
                heapq.heappush(self.upcoming, (at, platform, device_id))
                self.waiting.add(device)
        for platform, device_id, due_ms in claimed.reconcile:
            self.send_reconcile(platform, device_id, due_ms)
        for platform, device_id, _ in claimed.release:
            self.send_release(platform, device_id)

    def send_due(self, now_ms: int) -> int:
        sent = 0
        while self.upcoming and self.upcoming[0][0] <= now_ms:
            _, platform, device_id = heapq.heappop(self.upcoming)
            self.waiting.discard((platform, device_id))
            self._revoke((platform, device_id), now_ms)
            sent += 1
        self.sent_ms = {d: t for d, t in self.sent_ms.items() if t > now_ms - REPEAT_GAP_MS}
        return sent

    def _revoke(self, device: tuple[str, str], now_ms: int) -> None:
        self.send_revoke(*device)
        self.sent_ms[device] = now_ms

    def next_ms(self) -> int | None:
        return self.upcoming[0][0] if self.upcoming else None


class Leadership:
    """The clock's leader lock: acquire, or renew while this clock holds it."""

    def __init__(self, client: redis.Redis, holder: str, ttl_ms: int) -> None:
        self.lock, self.holder, self.ttl_ms = OwnedLock(client, keys.CLOCK_LOCK), holder, ttl_ms

    def hold(self) -> bool:
        return self.lock.hold(self.holder, self.ttl_ms)

    def release(self) -> None:
        self.lock.release(self.holder)


def sweep(client: redis.Redis, scripts: Scripts, leadership: Leadership, clock: Clock,
          dispatch: Callable[[Claimed], None], lookahead_ms: int = 0, *,
          reconcile: bool = True,
          budgets: dict[str, RateLimiter] | None = None) -> Claimed | None:
    """One tick: None when another clock leads; else the claimed devices, handed to dispatch.
    With `budgets` (platform -> its call budget), reconciles are claimed by the room each budget
    has for background work now."""
    if not leadership.hold():
        return None
    room = {p: b.room() for p, b in budgets.items()} if budgets is not None else None
    claimed = claim(client, scripts, clock(), lookahead_ms, reconcile=reconcile,
                    reconcile_room=room)
    dispatch(claimed)
    if claimed.revoke or claimed.reconcile or claimed.release:
        log.info("sweep: %d device(s) to revoke, %d to reconcile, %d to release",
                 len(claimed.revoke), len(claimed.reconcile), len(claimed.release))
    return claimed


def run(config: Config, stop: threading.Event) -> None:
    if hint := connection.unreachable_hint(config):
        log.warning(hint)
    broker.configure(config)
    client = connection.client(connection.resolve_url(config))
    start_flusher(client, config.metrics_flush_s)
    scripts = Scripts(client)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    leadership = Leadership(client, holder, config.sweep_interval_s * 1000 * LOCK_TTL_INTERVALS)
    log.info("clock started, sweeping every %ds", config.sweep_interval_s)
    interval_ms = config.sweep_interval_s * 1000
    check_ms = max(1, interval_ms // REVOKE_CHECKS_PER_SWEEP)
    dispatcher = Dispatcher()
    notify = Notifier(client)
    budgets = {p: budget(p, config, client) for p in configured_platforms(config)}
    next_sweep = next_check = next_notify = 0
    leading = False
    try:
        while not stop.is_set():
            try:
                if system_clock() >= next_check:
                    full = system_clock() >= next_sweep
                    if full:
                        # the jobs of one sweep (and their own jobs) share one id in the logs
                        request_ids.set_current(f"sweep-{system_clock()}")
                        next_sweep = system_clock() + interval_ms
                    next_check = system_clock() + check_ms
                    # reconciles at every check, as many as each budget has room for: a
                    # backlog drains in deadline order at the background share's rate
                    leading = sweep(client, scripts, leadership, system_clock, dispatcher,
                                    lookahead_ms=interval_ms, budgets=budgets) is not None
                    if leading and full:
                        housekeeping.sweep(client, scripts, config, system_clock())
                dispatcher.send_due(system_clock())
                if leading and system_clock() >= next_notify:
                    notify(system_clock())
                    next_notify = system_clock() + NOTIFY_CHECK_MS
            except (redis.RedisError, BrokerError) as e:
                # claimed devices come back when their lease runs out: nothing is lost
                log.warning("sweep failed, will retry next interval: %s", e)
            wake = min(next_check, dispatcher.next_ms() or next_check,
                       next_notify if leading else next_check)
            stop.wait(max(0, wake - system_clock()) / 1000)
    finally:
        leadership.release()
        log.info("clock stopped")


def main() -> None:
    config = Config.from_env()
    setup_logging(config, role="clock")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(config, stop)


if __name__ == "__main__":
    main()

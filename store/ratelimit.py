"""The shared platform call budget: a sliding-window log in Redis, one per platform app.

Every worker and web process takes a slot here before calling a platform, so the platform's
limit (calls per rolling minute) is never exceeded, however many processes there are. Work is
served by urgency when the budget runs short: revoking a stale command (it may be delivered
any moment) may use the whole budget; an operator's request (creating a command, a manual
reconcile) leaves half of `reserve` to revocations; background reconciliation leaves all of it.
So reconciliation never starves an operator, and neither can keep a stale command from being
revoked.

Revocations come in bursts when commands go stale together, and commands go stale together
when they were created together. Four rules keep such a burst within the budget:
- other work leaves a slot for every command of the platform that goes (or went) stale within a
  window of now: each may need a call to revoke it (read from the platform's index of PENDING
  commands by stale deadline: an overestimate, never an underestimate);
- creating a command takes at most half the budget in any window: the other half stays for the
  revocations those commands may need one stale period later;
- background work (reconciliation) is paced: at most its share of the limit in any quarter of
  the window, so it does not come in bursts either;
- while a revocation waits for a slot, nothing else takes one.

When the platform throttles anyway (its real limit is lower than configured, or another client
shares the app), the budget learns: for `LEARNED_TTL_MS` it allows a little less than the calls
the window held at that moment. The window then holds more than that, so every process waits
until enough of the oldest calls have aged out, instead of bumping into the limit again and
again; revocations still go first.

Taking a slot and learning a limit are one script each (store/lua/rate_take.lua, rate_learn.lua),
so that each runs atomically however many processes share the budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum

import redis

from cmdkeeper.clock import Clock, system_clock
from store import keys
from store.script_calls import Scripts

#: The platforms count calls per rolling minute.
PLATFORM_WINDOW_MS = 60_000
#: Our window is a little longer than the platform's, so calls that reach the platform some
#: milliseconds after we counted them still fall inside one of our windows.
WINDOW_MARGIN_MS = 1_000
WINDOW_MS = PLATFORM_WINDOW_MS + WINDOW_MARGIN_MS

#: A revocation refused a slot marks the budget as wanted by it until its next try plus this
#: long: meanwhile no other work takes a slot, so the next one to free up is the revocation's.
REVOKE_WAITING_GRACE_MS = 250

#: Background work takes at most 1/PACE_PARTS of its share of the budget in any 1/PACE_PARTS of
#: the window. (Only background work: it gives up at once and comes back later, while an
#: operator's request would wait up to a quarter window for its turn.)
PACE_PARTS = 4

#: How long a limit learned from a throttling answer holds before the configured one returns.
LEARNED_TTL_MS = 10 * 60 * 1000

class NoCallSlot(Exception):
    """Raised by `acquire` when no slot of the budget freed up before the caller's deadline
    (the platform clients turn it into their retryable `RateLimitTimeout`)."""

    def __init__(self, name: str, waited_s: float) -> None:
        super().__init__(f"no call budget within {waited_s:.1f}s")
        self.name, self.waited_s = name, waited_s


#: Told of each wait for a slot: (budget name, priority, seconds waited, whether it got one).
OnWait = Callable[[str, "Priority", float, bool], None]


class Priority(IntEnum):
    REVOKE = 0
    #: An operator's request: a manual reconcile, a login.
    USER = 1
    BACKGROUND = 2
    #: An operator's request that creates a command, which may need revoking one stale period
    #: later: as USER, but at most half the budget in any window.
    CREATE = 3


#: How long each priority may hold a thread waiting for a slot, in seconds. Background work
#: gives up almost at once and comes back later, so it never fills the workers' threads while
#: a revocation waits for one (the chaos run, at 2 s, had half the threads waiting so); an
#: operator's request waits about as long as a client would.
MAX_WAIT_S = {Priority.REVOKE: 30.0, Priority.USER: 10.0, Priority.CREATE: 10.0,
              Priority.BACKGROUND: 0.25}


class RateLimiter:
    """Takes call slots from a shared window; `acquire` waits (bounded) for one to free up."""

    def __init__(self, client: redis.Redis, name: str, per_minute: int, *,
                 clock: Clock = system_clock, sleep: Callable[[float], None] = time.sleep,
                 reserve: int | None = None, window_ms: int = WINDOW_MS,
                 pace_parts: int = PACE_PARTS, on_wait: OnWait | None = None) -> None:
        self.key = keys.rate_window(name)
        self.learned_key = keys.rate_learned_limit(name)
        self.waiting_key = keys.rate_revoke_waiting(name)
        # `huawei:<app id>` or `onenet`: the platform whose stale commands the budget revokes
        self.stale_key = keys.pending_by_stale_at(name.partition(":")[0])
        self.name = name
        self.per_minute = per_minute
        self.reserve = max(1, per_minute // 5) if reserve is None else reserve
        self.clock, self.sleep = clock, sleep
        self.scripts = Scripts(client)
        self._seq = 0
        self.window_ms = window_ms
        self.pace_parts = pace_parts
        self.on_wait = on_wait

    def _reserve(self, priority: Priority) -> int:
        """Slots this priority must leave free for more urgent work."""
        if priority is Priority.REVOKE or self.per_minute <= self.reserve:
            return 0
        return self.reserve if priority is Priority.BACKGROUND else self.reserve // 2

    def try_acquire(self, priority: Priority = Priority.BACKGROUND) -> float:
        """0 when a slot was taken; else how many seconds until one may free up."""
        self._seq += 1
        now = self.clock()
        member = f"{now}-{id(self)}-{self._seq}"
        ok, value = self.scripts.rate_take(
            rate_window=self.key, rate_learned_limit=self.learned_key,
            pending_by_stale_at=self.stale_key, rate_revoke_waiting=self.waiting_key,
            now_ms=now, window_ms=self.window_ms, limit=self.per_minute, member=member,
            reserve=self._reserve(priority), urgent=priority is Priority.REVOKE,
            waiting_grace_ms=REVOKE_WAITING_GRACE_MS,
            pace_parts=self.pace_parts if priority is Priority.BACKGROUND else 1,
            half_budget=priority is Priority.CREATE)
        return 0.0 if ok else max(int(value), 1) / 1000

    def learn_from_throttling(self) -> None:
        """The platform said we are over its limit: learn a lower one, which every process
        then keeps to."""
        now = self.clock()
        self.scripts.rate_learn(rate_window=self.key, rate_learned_limit=self.learned_key,
                                now_ms=now, window_ms=self.window_ms,
                                learned_ttl_ms=LEARNED_TTL_MS,
                                min_limit=max(1, self.per_minute // 10))

    def acquire(self, priority: Priority = Priority.BACKGROUND, *,
                max_wait_s: float | None = None) -> None:
        """Take a slot, waiting up to `max_wait_s` (by default, as long as the priority may
        hold a thread: see MAX_WAIT_S); NoCallSlot when none frees up. `on_wait` hears of
        every wait (a slot taken at once is not a wait; giving up always is)."""
        max_wait_s = MAX_WAIT_S[priority] if max_wait_s is None else max_wait_s
        waited = 0.0
        while True:
            wait = self.try_acquire(priority)
            if wait == 0:
                if waited and self.on_wait is not None:
                    self.on_wait(self.name, priority, waited, True)
                return
            if waited + wait > max_wait_s:
                if self.on_wait is not None:
                    self.on_wait(self.name, priority, waited, False)
                raise NoCallSlot(self.name, waited)
            self.sleep(wait)
            waited += wait

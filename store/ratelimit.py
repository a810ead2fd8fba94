"""The shared platform call budget: a scheduler over sliding-window logs in Redis, one per
platform app.

Every worker and web process takes a slot here before calling a platform, so the platform's
limit (L calls per rolling window) is never exceeded, however many processes there are. Three
classes of work share it, each with a stated guarantee (the README, "Platform calls", has them
as a table):

- revocation (revoking stale commands, whoever asked; logging in) may take a slot whenever the
  window has room: it may use the whole budget, and while one waits, nothing else takes a slot;
- people (creating a command, a manual reconcile) may take one when the window has room beyond
  R, a creation also while creation's own calls are under P: half the budget, P = floor(L / 2),
  is never taken by background work;
- background work (reconciliation, following cancel tasks) may take one when the window has
  room beyond R and beyond what people have not used of P, paced: at most (L - P) / 4 of its
  own calls in any quarter window. It gets what the others leave, and gives up at once.

R is a slot for every command of the platform that goes (or went) stale within a window of
now: each may need a call to revoke it (read from the platform's index of PENDING commands by
stale deadline: an overestimate, never an underestimate). Creation is limited by the calls
creation made, not by all calls: commands created together go stale together, and the half
creation leaves is there for the revocations they may need one stale period later. People's
unused share is not lent to background work, because a slot taken in a sliding window is gone
for the whole window: lent out, it could not be given back when an operator asks. So a
reconcile backlog drains at the background share, L - P - R per window, paced through it, and
the clock hands out only as many due reconciles as there is room for (`room()`), in deadline
order.

When the platform throttles anyway (its real limit is lower than configured, or another client
shares the app), the budget learns: for `LEARNED_TTL_MS` it allows a little less than the calls
the window held at that moment. The window then holds more than that, so every process waits
until enough of the oldest calls have aged out, instead of bumping into the limit again and
again; revocations still go first.

Taking a slot, measuring the room and learning a limit are one script each
(store/lua/rate_take.lua, rate_room.lua, rate_learn.lua), so that each runs atomically however
many processes share the budget.
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
#: the window, counting its own calls only. (Only background work: it gives up at once and
#: comes back later, while an operator's request would wait up to a quarter window for its
#: turn.)
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
    """The class of work a call is for (see the table above)."""

    #: Revoking a stale command; logging in (every call waits for the token).
    REVOKE = 0
    #: An operator's request: a manual reconcile (people).
    USER = 1
    #: Reconciliation, following a cancel task.
    BACKGROUND = 2
    #: An operator's request that creates a command (people, with creation's own cap).
    CREATE = 3

    @property
    def kind(self) -> str:
        """The name the take script knows this class by."""
        return self.name.lower()


#: How long each priority may hold a thread waiting for a slot, in seconds. Background work
#: gives up almost at once and comes back later, so it never fills the workers' threads while
#: a revocation waits for one (the chaos run, at 2 s, had half the threads waiting so); an
#: operator's request waits about as long as a client would.
MAX_WAIT_S = {Priority.REVOKE: 30.0, Priority.USER: 10.0, Priority.CREATE: 10.0,
              Priority.BACKGROUND: 0.25}


class RateLimiter:
    """Takes call slots from a shared window; `acquire` waits (bounded) for one to free up."""

    def __init__(self, client: redis.Redis, name: str, limit: int, *,
                 clock: Clock = system_clock, sleep: Callable[[float], None] = time.sleep,
                 window_ms: int = WINDOW_MS, pace_parts: int = PACE_PARTS,
                 on_wait: OnWait | None = None) -> None:
        self.key = keys.rate_window(name)
        self.people_key = keys.rate_class_window(name, "people")
        self.create_key = keys.rate_class_window(name, "create")
        self.background_key = keys.rate_class_window(name, "background")
        self.learned_key = keys.rate_learned_limit(name)
        self.waiting_key = keys.rate_revoke_waiting(name)
        # `huawei:<app id>` or `onenet`: the platform whose stale commands the budget revokes
        self.stale_key = keys.pending_by_stale_at(name.partition(":")[0])
        self.name = name
        #: Calls per window the platform allows (a learned lower limit wins while it holds).
        self.limit = limit
        self.clock, self.sleep = clock, sleep
        self.scripts = Scripts(client)
        self._seq = 0
        self.window_ms = window_ms
        self.pace_parts = pace_parts
        self.on_wait = on_wait

    def try_acquire(self, priority: Priority = Priority.BACKGROUND) -> float:
        """0 when a slot was taken; else how many seconds until one may free up."""
        self._seq += 1
        now = self.clock()
        member = f"{now}-{id(self)}-{self._seq}"
        ok, value = self.scripts.rate_take(
            rate_window=self.key, rate_people=self.people_key, rate_create=self.create_key,
            rate_background=self.background_key, rate_learned_limit=self.learned_key,
            pending_by_stale_at=self.stale_key, rate_revoke_waiting=self.waiting_key,
            now_ms=now, window_ms=self.window_ms, limit=self.limit, member=member,
            kind=priority.kind, waiting_grace_ms=REVOKE_WAITING_GRACE_MS,
            pace_parts=self.pace_parts)
        return 0.0 if ok else max(int(value), 1) / 1000

    def room(self) -> int:
        """How many slots background work could take right now (taking none)."""
        return int(self.scripts.rate_room(
            rate_window=self.key, rate_people=self.people_key,
            rate_background=self.background_key, rate_learned_limit=self.learned_key,
            pending_by_stale_at=self.stale_key, rate_revoke_waiting=self.waiting_key,
            now_ms=self.clock(), window_ms=self.window_ms, limit=self.limit,
            pace_parts=self.pace_parts))

    def learn_from_throttling(self) -> None:
        """The platform said we are over its limit: learn a lower one, which every process
        then keeps to."""
        now = self.clock()
        self.scripts.rate_learn(rate_window=self.key, rate_learned_limit=self.learned_key,
                                now_ms=now, window_ms=self.window_ms,
                                learned_ttl_ms=LEARNED_TTL_MS,
                                min_limit=max(1, self.limit // 10))

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

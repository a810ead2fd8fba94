"""A running bulk cancel as one value: whose device lock it holds, the platform's task, the
commands it is meant for, how often it was looked at, and the one schedule of looks.

A Huawei cancel task runs on the platform for seconds after it starts. Until it ends, the
revocation holds the device's lock (so no creation slips into it) and someone looks at it again
and again: a worker (`follow_cancel_task`), or the CLI, which follows it a while and then hands
it to a worker. Both look on this schedule and pass this value on, so a task handed over keeps
its count of looks and the same limit applies to it wherever it is followed.

Messages carry plain values, never objects: `to_message` builds the actor's arguments and
`from_message` reads them, nowhere else. Their shape is the one queued by earlier versions
(positional platform, device, task, lock owner, looks; `targets` by name), so a message queued
before an upgrade, or a dead letter replayed, still reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

#: The first look comes this long after the task started; each next one waits twice as long
#: as the one before, up to the second.
FIRST_POLL_MS = 1_000
MAX_POLL_MS = 30_000
#: Looks after the first before it is given up (its device is reconciled instead).
MAX_POLLS = 12
#: Doubling beyond this many looks only ever gives MAX_POLL_MS (and a huge count from a
#: malformed message must not make a huge number).
_DOUBLINGS = 16


@dataclass(frozen=True)
class CancelTask:
    platform: str
    device_id: str
    task_id: str
    #: Owner of the device lock the task holds; None in a message that names none.
    lock_owner: str | None
    #: The commands it was started for: one its result does not mention is not cancellable.
    targets: tuple[str, ...] = ()
    #: Looks at the task so far.
    polls: int = 0
    #: Who asked for the revocation (api, cli, dashboard); None for the clock's own.
    requested_by: str | None = None

    @property
    def next_delay_ms(self) -> int:
        """How long after the last look (or the start) to look again."""
        return min(FIRST_POLL_MS * 2 ** min(self.polls, _DOUBLINGS), MAX_POLL_MS)

    @property
    def out_of_looks(self) -> bool:
        """Looked at the first time and MAX_POLLS more, and still running: give it up."""
        return self.polls > MAX_POLLS

    def looked(self) -> CancelTask:
        """The task after one more look that found it still running."""
        return replace(self, polls=self.polls + 1)

    def to_message(self) -> dict[str, Any]:
        """`args` and `kwargs` of a `follow_cancel_task` message (for `send_with_options`)."""
        kwargs: dict[str, Any] = {"targets": list(self.targets)}
        if self.requested_by:
            kwargs["requested_by"] = self.requested_by
        return {"args": (self.platform, self.device_id, self.task_id, self.lock_owner,
                         self.polls), "kwargs": kwargs}

    @classmethod
    def from_message(cls, platform: str, device_id: str, task_id: str, lock_owner: str | None,
                     polls: int = 0, targets: Iterable[str] | None = None,
                     requested_by: str | None = None) -> CancelTask:
        """The task a `follow_cancel_task` message's arguments describe (the actor's own
        parameters, defaults included: older messages may lack `targets` and `requested_by`)."""
        return cls(platform, device_id, task_id, lock_owner, tuple(targets or ()), int(polls),
                   requested_by)

"""An in-memory Gateway (platforms/gateway.py), for unit tests of what workers/ do with a
platform's answers, branch by branch, without HTTP; the emulator tests are the end-to-end paths.

It is a tiny platform: the commands it still holds PENDING per device (a cancel cancels those;
one it does not hold is no longer cancellable), the history it reports, and bulk cancels that
end at once or stay running for a number of looks, as Huawei's cancel tasks do. A test can
instead script a method's next answers: each is returned, or raised when it is an error (a
`platforms.errors` one, say). Every call is recorded, with its priority.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cmdkeeper.clock import Clock
from platforms.errors import PermanentError
from platforms.gateway import CancelOutcome, Created, CreateRequest, Observed
from store.ratelimit import Priority

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    method: str
    device_id: str
    #: The call's other arguments: the request, since_ms, command id or task id.
    args: tuple[Any, ...]
    priority: Priority


@dataclass
class _Task:
    device_id: str
    commands: list[str]
    looks_left: int


class FakeGateway:
    """A Gateway whose platform lives in memory; `task_looks`: how many looks a bulk cancel
    stays running (0: it ends at once, as OneNET's cancel-all does)."""

    def __init__(self, clock: Clock, platform: str = "huawei", *, task_looks: int = 0) -> None:
        self.platform, self.clock, self.task_looks = platform, clock, task_looks
        self.calls: list[Call] = []
        self._held: dict[str, list[str]] = defaultdict(list)
        self._history: dict[str, list[Observed]] = defaultdict(list)
        self._tasks: dict[str, _Task] = {}
        self._answers: dict[str, deque[Any]] = defaultdict(deque)

    # -- what the platform knows, and what it will answer ----------------------------------
    def hold(self, device_id: str, *command_ids: str) -> None:
        """The platform holds these commands PENDING: a cancel of them succeeds."""
        self._held[device_id] += command_ids

    def held(self, device_id: str) -> list[str]:
        return list(self._held[device_id])

    def report(self, device_id: str, *observed: Observed) -> None:
        """The device's history reports these."""
        self._history[device_id] += observed

    def answer(self, method: str, *answers: Any) -> None:
        """The next calls of `method` return these in turn, or raise those that are errors;
        once they are used up, the in-memory platform answers again."""
        self._answers[method].extend(answers)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # -- the Gateway interface -------------------------------------------------------------
    def create(self, request: CreateRequest, priority: Priority) -> Created:
        def created() -> Created:
            now = self.clock()
            command_id = f"cmd-{len(self.calls)}"
            self.hold(request.device_id, command_id)
            return Created(command_id, now, now + request.expire_in_s * 1000, "PENDING")

        return self._call("create", request.device_id, (request,), priority, created)

    def history(self, device_id: str, since_ms: int, priority: Priority) -> list[Observed]:
        return self._call("history", device_id, (since_ms,), priority,
                          lambda: list(self._history[device_id]))

    def cancel_one(self, device_id: str, command_id: str, priority: Priority) -> bool:
        def cancel() -> bool:
            if command_id not in self._held[device_id]:
                return False
            self._held[device_id].remove(command_id)
            return True

        return self._call("cancel_one", device_id, (command_id,), priority, cancel)

    def cancel_all(self, device_id: str, priority: Priority) -> CancelOutcome:
        def cancel() -> CancelOutcome:
            taken, self._held[device_id] = self._held[device_id], []
            if not self.task_looks:
                return CancelOutcome(canceled=taken)
            task_id = f"task-{len(self._tasks) + 1}"
            self._tasks[task_id] = _Task(device_id, taken, self.task_looks)
            return CancelOutcome(task_id=task_id)

        return self._call("cancel_all", device_id, (), priority, cancel)

    def follow(self, device_id: str, task_id: str, priority: Priority) -> CancelOutcome:
        def look() -> CancelOutcome:
            task = self._tasks.get(task_id)
            if task is None or task.device_id != device_id:
                raise PermanentError(self.platform, "task_not_found", f"no cancel task {task_id}")
            if task.looks_left:
                task.looks_left -= 1
                return CancelOutcome(task_id=task_id)
            return CancelOutcome(canceled=list(task.commands))

        return self._call("follow", device_id, (task_id,), priority, look)

    def _call(self, method: str, device_id: str, args: tuple[Any, ...], priority: Priority,
              platform: Callable[[], T]) -> T:
        self.calls.append(Call(method, device_id, args, priority))
        if self._answers[method]:
            answer = self._answers[method].popleft()
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return platform()

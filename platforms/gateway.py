"""What the workers and the API need from a platform, whichever it is.

Each platform adapts its client to this interface (`huawei_gateway.py`, `onenet_gateway.py`),
so creating, revoking and reconciling are written once, in `workers/`, for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from store.model import State
from store.ratelimit import Priority


@dataclass(frozen=True)
class CreateRequest:
    device_id: str
    service_id: str
    method: str
    paras: dict[str, Any]
    callback_url: str
    expire_in_s: int


@dataclass(frozen=True)
class Created:
    command_id: str
    created_ms: int
    expire_at_ms: int | None
    platform_status: str


@dataclass(frozen=True)
class Observed:
    """A command as the platform's history reports it."""

    command_id: str
    state: State
    platform_status: str
    at_ms: int | None
    attempt: int = 0
    #: Record fields history knows (service, method, paras, created_at, …), to fill gaps.
    fill: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelOutcome:
    """What a bulk cancel did: done with its results, or still running as `task_id`."""

    canceled: list[str] = field(default_factory=list)
    not_canceled: list[str] = field(default_factory=list)
    task_id: str | None = None

    @property
    def pending(self) -> bool:
        return self.task_id is not None


class Gateway(Protocol):
    platform: str
    #: The platform's own word for a command it cancelled, recorded as a revocation's
    #: `platform_status` (Huawei `CANCELED`, OneNET send_status `2`).
    canceled_status: str

    def create(self, request: CreateRequest, priority: Priority) -> Created: ...

    def history(self, device_id: str, since_ms: int, priority: Priority) -> list[Observed]: ...

    def cancel_one(self, device_id: str, command_id: str, priority: Priority) -> bool:
        """True when cancelled; False when no longer cancellable (the platform sent it)."""
        ...

    def cancel_all(self, device_id: str, priority: Priority) -> CancelOutcome: ...

    def follow(self, device_id: str, task_id: str, priority: Priority) -> CancelOutcome: ...

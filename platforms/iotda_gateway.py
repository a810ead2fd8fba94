"""IoTDA v5 behind the Gateway interface, for what v5 can do: create, show, history.

v5 has no cancel (docs/platforms.md, "IoTDA: commands"): `cancel_one`, `cancel_all` and
`follow` refuse with PermanentError `no_cancel`. Revocation is done by not handing the platform
more than it needs (the hold-back queue, workers/holdback.py; docs/platforms.md, "IoTDA:
revocation"): each command goes out with `expire_time` = the time left
until it would be stale, so the platform's own EXPIRED is the revocation. So `create` refuses a
command with no time left (IoTDA reads 0 as "24 hours"), and caps it at the platform's two days
(`expire_at_ms` says when it will really expire).

`history` reads the in-queue list first, then history: a command that moves from one to the
other between the two reads shows up twice (history's view wins), never not at all.
"""

from __future__ import annotations

import json

from cmdkeeper.clock import Clock
from platforms.errors import PermanentError
from platforms.gateway import CancelOutcome, Created, CreateRequest, Observed
from platforms.iotda import IotdaClient, IotdaCommand
from platforms.iotda_vocab import CANCELED, state_of
from store.model import State
from store.ratelimit import Priority

PLATFORM = "iotda"
#: IoTDA keeps a cached command at most two days.
MAX_EXPIRE_S = 172800


def observed_time(c: IotdaCommand) -> int | None:
    """When the command reached its current status, as far as the platform says."""
    state = state_of(c.status)
    if state in (State.SUCCEEDED, State.FAILED):
        return c.response_ms or c.delivered_ms or c.sent_ms
    if state is State.DELIVERED:
        return c.delivered_ms
    if state in (State.SENT, State.TIMEOUT):
        return c.sent_ms
    if state is State.EXPIRED and c.created_ms is not None and c.expire_time_s:
        return c.created_ms + c.expire_time_s * 1000
    if state is State.PENDING:
        return c.created_ms
    return None


def observe(c: IotdaCommand) -> Observed | None:
    state = state_of(c.status)
    if state is None:
        return None
    fill = {"service_id": c.service_id, "method": c.command_name}
    if c.paras is not None:  # show has them; the lists do not
        fill["paras"] = json.dumps(c.paras, separators=(",", ":"))
    if c.created_ms is not None:
        fill["created_at"] = str(c.created_ms)
        if c.expire_time_s and c.send_strategy != "immediately":
            fill["expire_at"] = str(c.created_ms + c.expire_time_s * 1000)
    return Observed(c.command_id, state, c.status, observed_time(c), 0, fill)


def _no_cancel(what: str) -> PermanentError:
    return PermanentError(PLATFORM, "no_cancel",
                          f"IoTDA v5 has no {what}: a command is revoked by holding it back")


class IotdaGateway:
    platform = PLATFORM
    #: Revocation happens in cmdkeeper's hold-back queue: a revoked command never left it.
    canceled_status = CANCELED

    def __init__(self, client: IotdaClient, clock: Clock) -> None:
        self.client, self.clock = client, clock

    def create(self, request: CreateRequest, priority: Priority) -> Created:
        if request.expire_in_s < 1:
            raise PermanentError(PLATFORM, "no_time_left",
                                 "the command would be stale before it is sent (IoTDA reads "
                                 "expire_time 0 as 24 hours)")
        expire_s = min(request.expire_in_s, MAX_EXPIRE_S)
        c = self.client.create_async_command(
            request.device_id, request.service_id, request.method, request.paras,
            expire_time_s=expire_s, send_strategy="delay", priority=priority)
        # Our clock, not the platform's created_time: staleness is measured by the clock that
        # also decides when it has passed, whatever the platform's clock says.
        created = self.clock()
        return Created(c.command_id, created, created + expire_s * 1000, c.status)

    def show(self, device_id: str, command_id: str, priority: Priority) -> Observed | None:
        """One command as the platform has it now (None for a status v5 does not document)."""
        return observe(self.client.show_async_command(device_id, command_id,
                                                      priority=priority))

    def history(self, device_id: str, since_ms: int, priority: Priority) -> list[Observed]:
        found: dict[str, IotdaCommand] = {}
        for c in self.client.list_async_commands(device_id, start_ms=since_ms,
                                                 priority=priority):
            found[c.command_id] = c
        for c in self.client.list_async_history(device_id, start_ms=since_ms,
                                                priority=priority):
            found[c.command_id] = c  # read second: the later view of a command that moved
        return [o for c in found.values() if (o := observe(c)) is not None]

    def cancel_one(self, device_id: str, command_id: str, priority: Priority) -> bool:
        raise _no_cancel("cancel of a command")

    def cancel_all(self, device_id: str, priority: Priority) -> CancelOutcome:
        raise _no_cancel("cancel of a device's commands")

    def follow(self, device_id: str, task_id: str, priority: Priority) -> CancelOutcome:
        raise _no_cancel("cancel task")

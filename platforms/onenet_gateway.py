"""OneNET behind the Gateway interface: cached commands, history, per-command and bulk cancel."""

from __future__ import annotations

from cmdkeeper.clock import Clock
from platforms import onenet_vocab
from platforms.errors import PermanentError
from platforms.gateway import CancelOutcome, Created, CreateRequest, Observed
from platforms.onenet import RETRY, OneNetClient, OneNetCommand
from store.ratelimit import Priority

#: errno of a cancel refused because the command is no longer waiting ("system logic limit";
#: the real platform's code for this case is UNCONFIRMED, see docs/platforms.md, "OneNET:
#: cancelling").
NOT_CANCELLABLE = {"5006"}


def observe(c: OneNetCommand) -> Observed | None:
    if c.send_status not in onenet_vocab.SEND_STATES:
        return None
    confirm = onenet_vocab.CONFIRM_CODES.get(c.confirm_status) if c.confirm_status else None
    state = onenet_vocab.onenet_state(c.send_status, confirm)
    status = onenet_vocab.status_text(c.send_status, confirm)
    # remain counts down from RETRY as attempts are used; a missing remain means no retry yet
    attempt = max(0, RETRY - c.remain) if c.remain is not None else 0
    fill = {"method": c.kind, "service_id": ""}
    if c.created_ms is not None:
        fill["created_at"] = str(c.created_ms)
    if c.expired_ms is not None:
        fill["expire_at"] = str(c.expired_ms)
    at = c.confirm_ms or c.send_ms or c.created_ms
    return Observed(c.uuid, state, status, at, attempt, fill)


class OneNetGateway:
    platform = "onenet"
    canceled_status = onenet_vocab.CANCELED

    def __init__(self, client: OneNetClient, clock: Clock) -> None:
        self.client, self.clock = client, clock

    def create(self, request: CreateRequest, priority: Priority) -> Created:
        now = self.clock()
        expired = now + request.expire_in_s * 1000
        uuid = self.client.create(request.device_id, request.method, request.paras,
                                  expired_ms=expired, priority=priority)
        return Created(uuid, now, expired, "1")

    def history(self, device_id: str, since_ms: int, priority: Priority) -> list[Observed]:
        found = self.client.history(device_id, since_ms, priority=priority)
        return [o for c in found if (o := observe(c)) is not None]

    def cancel_one(self, device_id: str, command_id: str, priority: Priority) -> bool:
        try:
            self.client.cancel(device_id, command_id, priority=priority)
        except PermanentError as e:
            if e.code in NOT_CANCELLABLE:
                return False
            raise
        return True

    def cancel_all(self, device_id: str, priority: Priority) -> CancelOutcome:
        succ, failed = self.client.cancel_all(device_id, priority=priority)
        return CancelOutcome(canceled=succ, not_canceled=failed)

    def follow(self, device_id: str, task_id: str, priority: Priority) -> CancelOutcome:
        raise PermanentError(self.platform, "no_tasks", "OneNET cancels synchronously")

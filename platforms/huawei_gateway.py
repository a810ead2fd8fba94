"""Huawei behind the Gateway interface: per-command cancel, cancel tasks, history."""

from __future__ import annotations

import json

from cmdkeeper.clock import Clock
from platforms import huawei_vocab
from platforms.errors import PermanentError
from platforms.gateway import CancelOutcome, Created, CreateRequest, Observed
from platforms.huawei import HuaweiCancelTask, HuaweiClient, HuaweiCommand
from store.model import State
from store.ratelimit import Priority

#: Huawei's answer to a cancel of a command that is no longer PENDING (the emulator's choice
#: too; the real platform's code is UNCONFIRMED, see docs/platforms.md, "Huawei: cancelling").
NOT_CANCELLABLE = {"100022", "101001"}


def observed_time(c: HuaweiCommand) -> int | None:
    """When the command reached its current status, as far as the platform says."""
    state = huawei_vocab.state_of(c.status)
    if state in (State.SUCCEEDED, State.FAILED):
        return c.executed_ms or c.delivered_ms
    if state is State.DELIVERED:
        return c.delivered_ms
    if state in (State.SENT, State.TIMEOUT):
        return c.issued_ms
    if state is State.PENDING:
        return c.created_ms
    return None


def observe(c: HuaweiCommand) -> Observed | None:
    state = huawei_vocab.state_of(c.status)
    if state is None:
        return None
    fill = {"service_id": c.service_id, "method": c.method,
            "paras": json.dumps(c.paras, separators=(",", ":"))}
    if c.created_ms is not None:
        fill["created_at"] = str(c.created_ms)
    if c.created_ms is not None and c.expire_time_s:
        fill["expire_at"] = str(c.created_ms + c.expire_time_s * 1000)
    return Observed(c.command_id, state, c.status, observed_time(c), 0, fill)


class HuaweiGateway:
    platform = "huawei"
    canceled_status = huawei_vocab.CANCELED

    def __init__(self, client: HuaweiClient, clock: Clock) -> None:
        self.client, self.clock = client, clock

    def create(self, request: CreateRequest, priority: Priority) -> Created:
        c = self.client.create_command(
            request.device_id, request.service_id, request.method, request.paras,
            callback_url=request.callback_url, expire_time_s=request.expire_in_s,
            priority=priority)
        # Our clock, not the platform's creationTime: staleness is measured by the clock that
        # also decides when it has passed, whatever the platform's clock says.
        created = self.clock()
        return Created(c.command_id, created, created + request.expire_in_s * 1000, c.status)

    def history(self, device_id: str, since_ms: int, priority: Priority) -> list[Observed]:
        found = self.client.query_commands(device_id, start_ms=since_ms, priority=priority)
        return [o for c in found if (o := observe(c)) is not None]

    def cancel_one(self, device_id: str, command_id: str, priority: Priority) -> bool:
        try:
            cancelled = self.client.cancel_command(command_id, priority=priority)
            return cancelled.status == self.canceled_status
        except PermanentError as e:
            if e.code in NOT_CANCELLABLE:
                return False
            raise

    def cancel_all(self, device_id: str, priority: Priority) -> CancelOutcome:
        return self._outcome(self.client.create_cancel_task(device_id, priority=priority))

    def follow(self, device_id: str, task_id: str, priority: Priority) -> CancelOutcome:
        return self._outcome(self.client.query_cancel_task(task_id, priority=priority))

    @staticmethod
    def _outcome(task: HuaweiCancelTask) -> CancelOutcome:
        if not task.done:
            return CancelOutcome(task_id=task.task_id)
        ids = [c.command_id for c in task.commands]
        if task.status == "SUCCESS":
            canceled = [c.command_id for c in task.commands
                        if c.status in (huawei_vocab.CANCELED, "PENDING", "DEFAULT")]
        elif task.status == "PART_SUCCESS":
            canceled = [c.command_id for c in task.commands
                        if c.status == huawei_vocab.CANCELED]
        else:
            canceled = []
        return CancelOutcome(canceled=canceled, not_canceled=[i for i in ids if i not in canceled])

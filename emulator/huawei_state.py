"""Huawei v1 device commands and cancel tasks: records, device lifecycle, status callbacks.

Lifecycle (docs/platforms.md, "Huawei: commands"): created PENDING (or DEFAULT, a setting); when
the device is reachable
its cached commands go one at a time, in order: SENT -> DELIVERED (the device ACKs) ->
SUCCESSFUL or FAILED (its result); no ACK -> TIMEOUT after the 80-120 s retransmission window;
still PENDING at expireTime -> EXPIRED; cancelled while PENDING -> CANCELED. `expireTime` 0 is
immediate: SENT at once, and TIMEOUT if the device sleeps. Callbacks go to `callbackUrl` on SENT,
DELIVERED, SUCCESSFUL, FAILED and TIMEOUT (EXPIRED and CANCELED too if configured).
A cancel task (docs/platforms.md, "Huawei: cancelling") is WAITTING, RUNNING one third of the
way to `huawei_task_run_s`, then cancels each of its commands still PENDING: SUCCESS (all),
PART_SUCCESS (some) or FAILED (none).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.delivery import Message, Outbox
from emulator.devices import Device, Fleet
from emulator.engine import Engine, Event, Rngs
from emulator.huawei_auth import HuaweiError
from emulator.settings import Settings
from emulator.validate import json_int, json_str
from platforms.formats import ms_to_huawei

#: Statuses that are pushed to callbackUrl (docs/platforms.md, "Huawei: callbacks").
NOTIFIED = ("SENT", "DELIVERED", "SUCCESSFUL", "FAILED", "TIMEOUT")
#: expireTime when the request leaves it out: 48 h.
DEFAULT_EXPIRE_S = 172800


def bad_input(detail: str) -> HuaweiError:
    return HuaweiError("100022", detail)


def _time(ms: int | None) -> str | None:
    return ms_to_huawei(ms) if ms is not None else None


@dataclass
class HuaweiCommand:
    command_id: str
    app_id: str
    device_id: str
    command: dict[str, Any]
    callback_url: str | None
    expire_time: int
    max_retransmit: int | None
    status: str
    created_ms: int
    issued_ms: int | None = None
    delivered_ms: int | None = None
    executed_ms: int | None = None
    issued_times: int = 0
    result: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    expiry: Event | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "commandId": self.command_id, "appId": self.app_id, "deviceId": self.device_id,
            "command": self.command, "callbackUrl": self.callback_url,
            "expireTime": self.expire_time, "status": self.status, "result": self.result,
            "creationTime": _time(self.created_ms), "executeTime": _time(self.executed_ms),
            "platformIssuedTime": _time(self.issued_ms),
            "deliveredTime": _time(self.delivered_ms), "issuedTimes": self.issued_times,
            "maxRetransmit": self.max_retransmit,
        }

    def to_truth(self) -> dict[str, Any]:
        return {
            "platform": "huawei", "command_id": self.command_id, "device_id": self.device_id,
            "status": self.status, "history": self.history, "created_ms": self.created_ms,
            "sent": self.issued_times > 0, "first_sent_ms": self.issued_ms,
            "expire_ms": self.created_ms + self.expire_time * 1000 if self.expire_time else None,
            "callback_url": self.callback_url, "command": self.command,
        }


@dataclass
class CancelTask:
    task_id: str
    app_id: str
    device_id: str
    status: str
    created_ms: int
    command_ids: list[str]


def parse_create(body: Any) -> dict[str, Any]:
    """The fields of a create-command body (docs/platforms.md, "Huawei: commands"); HuaweiError
    100022 if malformed."""
    if not isinstance(body, dict):
        raise HuaweiError("100022", "the body must be a JSON object")
    command = body.get("command")
    if not isinstance(command, dict):
        raise HuaweiError("100022", "command is required")
    paras = command.get("paras")
    if paras is not None and not isinstance(paras, dict):
        raise HuaweiError("100022", "command.paras must be an object")
    callback = json_str(body, "callbackUrl", 1024, bad_input)
    if callback is not None and not callback.startswith(("http://", "https://")):
        raise HuaweiError("100022", "callbackUrl must be an http(s) URL")
    expire = json_int(body, "expireTime", 0, None, bad_input)
    return {
        "device_id": json_str(body, "deviceId", 64, bad_input, required=True),
        "command": {"serviceId": json_str(command, "serviceId", 64, bad_input, required=True),
                    "method": json_str(command, "method", 128, bad_input, required=True),
                    "paras": paras},
        "callback_url": callback,
        "expire_time": DEFAULT_EXPIRE_S if expire is None else expire,
        "max_retransmit": json_int(body, "maxRetransmit", 0, 3, bad_input),
    }


class HuaweiPlatform:
    """Commands and cancel tasks of the configured app; also the fleet's Huawei listener."""

    def __init__(self, settings: Settings, engine: Engine, rngs: Rngs, outbox: Outbox) -> None:
        self.settings, self.engine, self.rngs, self.outbox = settings, engine, rngs, outbox
        self.fleet: Fleet | None = None
        self.commands: dict[str, HuaweiCommand] = {}
        self.by_device: dict[str, list[HuaweiCommand]] = {}
        self.tasks: dict[str, CancelTask] = {}
        self.pending = settings.huawei_pending_status

    # -- API -------------------------------------------------------------------------------
    def device(self, device_id: str) -> Device:
        device = self.fleet.get("huawei", device_id) if self.fleet else None
        if device is None:
            raise HuaweiError("100418")
        return device

    def create(self, fields: dict[str, Any]) -> HuaweiCommand:
        device = self.device(fields["device_id"])
        queue = self.by_device.setdefault(device.device_id, [])
        if fields["expire_time"] > 0 and sum(
                c.status == self.pending for c in queue) >= self.settings.huawei_pending_limit:
            raise HuaweiError("100223")
        cmd = HuaweiCommand(self.rngs.hex32(), self.settings.huawei_app_id, device.device_id,
                            fields["command"], fields["callback_url"], fields["expire_time"],
                            fields["max_retransmit"], self.pending, self.engine.now_ms)
        self.commands[cmd.command_id] = cmd
        queue.append(cmd)
        self._set(cmd, self.pending)
        if cmd.expire_time == 0:
            self._send(cmd, device, occupy=False)
        else:
            cmd.expiry = self.engine.after(cmd.expire_time, self._expire, cmd)
            self._pump(device)
        return cmd

    def cancel(self, command_id: str, body: Any) -> HuaweiCommand:
        if not isinstance(body, dict) or body.get("status") != "CANCELED":
            raise HuaweiError("100022", 'the body must be {"status": "CANCELED"}')
        cmd = self.commands.get(command_id)
        if cmd is None:
            raise HuaweiError("101001")
        if cmd.status != self.pending:
            raise HuaweiError("100022", f"the command is {cmd.status}, not {self.pending}")
        self._cancel(cmd)
        return cmd

    def create_task(self, body: Any) -> CancelTask:
        if not isinstance(body, dict):
            raise HuaweiError("100022", "the body must be a JSON object")
        device = self.device(json_str(body, "deviceId", 64, bad_input, required=True))
        ids = [c.command_id for c in self.by_device.get(device.device_id, [])
               if c.status == self.pending]
        task = CancelTask(self.rngs.hex32(), self.settings.huawei_app_id, device.device_id,
                          self.settings.huawei_task_waiting, self.engine.now_ms, ids)
        self.tasks[task.task_id] = task
        run_s = self.settings.huawei_task_run_s
        self.engine.after(run_s / 3, self._task_status, task, "RUNNING")
        self.engine.after(run_s, self._task_finish, task)
        return task

    def task_to_api(self, task: CancelTask) -> dict[str, Any]:
        return {"taskId": task.task_id, "appId": task.app_id, "deviceId": task.device_id,
                "status": task.status, "totalCount": len(task.command_ids),
                "deviceCommands": [self.commands[c].to_api() for c in task.command_ids]}

    def ordered(self, items: list[Any], created: Callable[[Any], int]) -> list[Any]:
        """By creation (ties in creation order); newest first unless configured otherwise."""
        result = sorted(items, key=created)
        if self.settings.huawei_query_order == "desc":
            result.reverse()
        return result

    # -- the fleet's listener ---------------------------------------------------------------
    def on_online(self, device: Device) -> None:
        pass

    def on_uplink(self, device: Device, kind: str) -> None:
        self._pump(device)

    def on_offline(self, device: Device) -> None:
        pass

    # -- lifecycle --------------------------------------------------------------------------
    def _pump(self, device: Device) -> None:
        if not device.awake or device.busy is not None:
            return
        for cmd in self.by_device.get(device.device_id, []):
            if cmd.status == self.pending:
                self._send(cmd, device, occupy=True)
                return

    def _send(self, cmd: HuaweiCommand, device: Device, occupy: bool) -> None:
        self.engine.cancel(cmd.expiry)
        cmd.issued_ms, cmd.issued_times = self.engine.now_ms, 1
        self._set(cmd, "SENT")
        if occupy:
            device.busy = cmd.command_id
        answer = device.draw_answer(self.rngs.devices) if device.awake else "no_answer"
        if answer == "no_answer":
            s = self.settings
            window_s = self.rngs.devices.uniform(s.huawei_timeout_min_s, s.huawei_timeout_max_s)
            self.engine.after(window_s, self._timeout, cmd, device)
        else:
            self.engine.after(device.behaviour.ack_delay_s, self._delivered, cmd, device, answer)

    def _delivered(self, cmd: HuaweiCommand, device: Device, answer: str) -> None:
        cmd.delivered_ms = self.engine.now_ms
        self._set(cmd, "DELIVERED")
        self.fleet.touch(device)
        self.engine.after(device.behaviour.result_delay_s, self._result, cmd, device, answer)

    def _result(self, cmd: HuaweiCommand, device: Device, answer: str) -> None:
        cmd.executed_ms = self.engine.now_ms
        status = "SUCCESSFUL" if answer == "success" else "FAILED"
        detail = {"result": 0} if answer == "success" else {"result": 1, "error": "device error"}
        cmd.result = {"resultCode": status, "resultDetail": detail}
        self._set(cmd, status, detail)
        self.fleet.touch(device)
        self._free(cmd, device)

    def _timeout(self, cmd: HuaweiCommand, device: Device) -> None:
        retransmits = 3 if cmd.max_retransmit is None else cmd.max_retransmit
        cmd.issued_times = 1 + retransmits
        cmd.result = {"resultCode": "TIMEOUT", "resultDetail": None}
        self._set(cmd, "TIMEOUT")
        self._free(cmd, device)

    def _free(self, cmd: HuaweiCommand, device: Device) -> None:
        if device.busy == cmd.command_id:
            device.busy = None
            self._pump(device)

    def _expire(self, cmd: HuaweiCommand) -> None:
        if cmd.status == self.pending:
            self._set(cmd, "EXPIRED")

    def _cancel(self, cmd: HuaweiCommand) -> None:
        self.engine.cancel(cmd.expiry)
        self._set(cmd, "CANCELED")

    def _task_status(self, task: CancelTask, status: str) -> None:
        task.status = status

    def _task_finish(self, task: CancelTask) -> None:
        done = 0
        for command_id in task.command_ids:
            cmd = self.commands[command_id]
            if cmd.status == self.pending:
                self._cancel(cmd)
            done += cmd.status == "CANCELED"
        total = len(task.command_ids)
        task.status = "SUCCESS" if done == total else "FAILED" if done == 0 else "PART_SUCCESS"

    def _set(self, cmd: HuaweiCommand, status: str, detail: Any = None) -> None:
        cmd.status = status
        cmd.history.append({"status": status, "at_ms": self.engine.now_ms})
        notify = status in NOTIFIED or (self.settings.huawei_notify_expired_canceled
                                        and status in ("EXPIRED", "CANCELED"))
        if notify and cmd.callback_url:
            body = {"deviceId": cmd.device_id, "commandId": cmd.command_id,
                    "result": {"resultCode": status, "resultDetail": detail}}
            self.outbox.submit(Message(
                "huawei", cmd.callback_url, json.dumps(body, separators=(",", ":")),
                {"kind": "callback", "command_id": cmd.command_id, "status": status}))

"""IoTDA v5 cached (asynchronous) commands: records, the device lifecycle, the status pushes.

Lifecycle (docs/platforms.md, "IoTDA: commands"): `send_strategy=delay` (the default) creates a
PENDING command, cached until the device reports; a device's cached commands go one at a time,
in order: SENT -> DELIVERED (the device ACKs) -> SUCCESSFUL or FAILED (its result); no ACK ->
TIMEOUT after the 80-120 s retransmission window; still PENDING at `expire_time` (0 or absent:
24 h; at most 2 days) -> EXPIRED. There is no CANCELED and no cancel call. At most 20 PENDING
per device (a setting); one more is refused. `immediately` ignores `expire_time` and the queue:
SENT at once, and FAILED (or, as a setting, TIMEOUT) when the device is not reachable.
The queue lists PENDING, SENT and DELIVERED; DELIVERED moves to history after
`iotda_delivered_queue_s`; history lists the rest. Paging markers are record ids that grow
with each command (24 hex digits), so "newest first" is "largest marker first".
Each status in `iotda_push_on` goes to the rule engine's forwarder (`iotda_push.Forwarder`).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from cmdkeeper.clock import ms_to_iso
from emulator.devices import Device, Fleet
from emulator.engine import Engine, Event, Rngs
from emulator.iotda_auth import IotdaError
from emulator.iotda_push import Forwarder
from emulator.settings import Settings
from emulator.validate import json_int, json_str
from platforms.formats import ms_to_iotda

DEFAULT_EXPIRE_S = 86400
MAX_EXPIRE_S = 172800
MAX_PARAS_BYTES = 32 * 1024
QUEUE_STATUSES = ("PENDING", "SENT", "DELIVERED")
HISTORY_STATUSES = ("EXPIRED", "SUCCESSFUL", "FAILED", "TIMEOUT", "DELIVERED")
STRATEGIES = ("delay", "immediately")


def bad_input(detail: str) -> IotdaError:
    return IotdaError("IOTDA.000006", detail)


def _time(ms: int | None) -> str | None:
    return ms_to_iotda(ms) if ms is not None else None


@dataclass
class IotdaCommand:
    command_id: str
    record_id: str  #: the paging marker: grows with each command
    device_id: str
    service_id: str | None
    command_name: str | None
    paras: Any
    expire_time: int  #: seconds, as the platform applies it (0 for `immediately`)
    send_strategy: str
    status: str
    created_ms: int
    sent_ms: int | None = None
    delivered_ms: int | None = None
    response_ms: int | None = None
    result: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)
    expiry: Event | None = None

    def item(self) -> dict[str, Any]:
        """As the queue and history lists show it (no paras, no result)."""
        return {
            "device_id": self.device_id, "command_id": self.command_id,
            "service_id": self.service_id, "command_name": self.command_name,
            "expire_time": self.expire_time, "status": self.status,
            "created_time": _time(self.created_ms), "sent_time": _time(self.sent_ms),
            "delivered_time": _time(self.delivered_ms), "send_strategy": self.send_strategy,
            "response_time": _time(self.response_ms),
        }

    def detail(self) -> dict[str, Any]:
        """As show (and create) answer it."""
        return {**self.item(), "paras": self.paras, "result": self.result}

    def to_truth(self) -> dict[str, Any]:
        sent = next((h["at_ms"] for h in self.history if h["status"] == "SENT"), None)
        return {
            "platform": "iotda", "command_id": self.command_id, "device_id": self.device_id,
            "status": self.status, "history": self.history, "created_ms": self.created_ms,
            "sent": sent is not None, "first_sent_ms": sent,
            "expire_ms": self.created_ms + self.expire_time * 1000
            if self.send_strategy == "delay" else None,
            "send_strategy": self.send_strategy, "record_id": self.record_id,
            "command": {"service_id": self.service_id, "command_name": self.command_name,
                        "paras": self.paras},
        }


def parse_create(body: Any) -> dict[str, Any]:
    """The fields of a create body; IotdaError 400 when malformed."""
    if not isinstance(body, dict):
        raise IotdaError("IOTDA.000008", "the body must be a JSON object")
    paras = body.get("paras")
    if not isinstance(paras, dict):
        raise bad_input("paras must be a JSON object")
    if len(json.dumps(paras, separators=(",", ":")).encode("utf-8")) > MAX_PARAS_BYTES:
        raise bad_input("paras must be at most 32 KB")
    strategy = body.get("send_strategy") or "delay"
    if strategy not in STRATEGIES:
        raise bad_input("send_strategy must be delay or immediately")
    expire = json_int(body, "expire_time", 0, MAX_EXPIRE_S, bad_input)
    return {"service_id": json_str(body, "service_id", 64, bad_input),
            "command_name": json_str(body, "command_name", 128, bad_input),
            "paras": paras, "send_strategy": strategy,
            "expire_time": 0 if strategy == "immediately" else expire or DEFAULT_EXPIRE_S}


class IotdaPlatform:
    """The tenant's cached commands; also the fleet's IoTDA listener."""

    def __init__(self, settings: Settings, engine: Engine, rngs: Rngs,
                 forwarder: Forwarder) -> None:
        self.settings, self.engine, self.rngs, self.forwarder = settings, engine, rngs, forwarder
        # a stream of its own: IoTDA calls never shift the other platforms' ids
        self.ids = random.Random(f"{rngs.seed}:iotda")
        self.fleet: Fleet | None = None
        self.commands: dict[str, IotdaCommand] = {}
        self.by_device: dict[str, list[IotdaCommand]] = {}
        self._records = 0

    # -- API -------------------------------------------------------------------------------
    def device(self, device_id: str) -> Device:
        device = self.fleet.get("iotda", device_id) if self.fleet else None
        if device is None:
            raise IotdaError("IOTDA.014000")
        return device

    def new_request_id(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def create(self, device_id: str, fields: dict[str, Any]) -> IotdaCommand:
        device = self.device(device_id)
        queue = self.by_device.setdefault(device.device_id, [])
        s = self.settings
        if fields["send_strategy"] == "delay" and sum(
                c.status == "PENDING" for c in queue) >= s.iotda_pending_limit:
            raise IotdaError(s.iotda_pending_limit_code,
                             f"At most {s.iotda_pending_limit} PENDING commands per device.")
        self._records += 1
        now = self.engine.now_ms
        cmd = IotdaCommand(self.new_request_id(), f"{now // 1000:08x}{self._records:016x}",
                           device.device_id, fields["service_id"], fields["command_name"],
                           fields["paras"], fields["expire_time"], fields["send_strategy"],
                           "PENDING", now)
        self.commands[cmd.command_id] = cmd
        queue.append(cmd)
        if cmd.send_strategy == "immediately":
            self._send(cmd, device, occupy=False)
        else:
            self._set(cmd, "PENDING")
            cmd.expiry = self.engine.after(cmd.expire_time, self._expire, cmd)
            self._pump(device)
        return cmd

    def command(self, device_id: str, command_id: str) -> IotdaCommand:
        self.device(device_id)
        cmd = self.commands.get(command_id)
        if cmd is None or cmd.device_id != device_id:
            raise IotdaError("IOTDA.014002")
        return cmd

    def in_queue(self, cmd: IotdaCommand) -> bool:
        if cmd.status == "DELIVERED":
            return self.engine.now_ms - cmd.delivered_ms \
                < self.settings.iotda_delivered_queue_s * 1000
        return cmd.status in ("PENDING", "SENT")

    def listed(self, device_id: str, queue: bool) -> list[IotdaCommand]:
        """The device's commands in the queue (or in history), newest first."""
        self.device(device_id)
        found = [c for c in self.by_device.get(device_id, []) if self.in_queue(c) == queue]
        return sorted(found, key=lambda c: c.record_id, reverse=True)

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
            if cmd.status == "PENDING":
                self._send(cmd, device, occupy=True)
                return

    def _send(self, cmd: IotdaCommand, device: Device, occupy: bool) -> None:
        self.engine.cancel(cmd.expiry)
        cmd.sent_ms = self.engine.now_ms
        self._set(cmd, "SENT")
        if occupy:
            device.busy = cmd.command_id
        if not device.awake and self.settings.iotda_immediate_offline == "FAILED":
            self.engine.after(0, self._unreachable, cmd)
            return
        answer = device.draw_answer(self.rngs.devices) if device.awake else "no_answer"
        if answer == "no_answer":
            s = self.settings
            window_s = self.rngs.devices.uniform(s.iotda_timeout_min_s, s.iotda_timeout_max_s)
            self.engine.after(window_s, self._timeout, cmd, device)
        else:
            self.engine.after(device.behaviour.ack_delay_s, self._delivered, cmd, device, answer)

    def _unreachable(self, cmd: IotdaCommand) -> None:
        cmd.result = {"error": "the device is not reachable"}
        self._set(cmd, "FAILED")

    def _delivered(self, cmd: IotdaCommand, device: Device, answer: str) -> None:
        cmd.delivered_ms = self.engine.now_ms
        self._set(cmd, "DELIVERED")
        self.fleet.touch(device)
        self.engine.after(device.behaviour.result_delay_s, self._result, cmd, device, answer)

    def _result(self, cmd: IotdaCommand, device: Device, answer: str) -> None:
        cmd.response_ms = self.engine.now_ms
        cmd.result = {"result_code": 0} if answer == "success" else \
            {"result_code": 1, "error": "device error"}
        self._set(cmd, "SUCCESSFUL" if answer == "success" else "FAILED")
        self.fleet.touch(device)
        self._free(cmd, device)

    def _timeout(self, cmd: IotdaCommand, device: Device) -> None:
        self._set(cmd, "TIMEOUT")
        self._free(cmd, device)

    def _free(self, cmd: IotdaCommand, device: Device) -> None:
        if device.busy == cmd.command_id:
            device.busy = None
            self._pump(device)

    def _expire(self, cmd: IotdaCommand) -> None:
        if cmd.status == "PENDING":
            self._set(cmd, "EXPIRED")

    def _set(self, cmd: IotdaCommand, status: str) -> None:
        cmd.status = status
        cmd.history.append({"status": status, "at_ms": self.engine.now_ms})
        if status in self.settings.iotda_push_on:
            self.forwarder.forward(self._push_body(cmd),
                                   {"kind": "push", "command_id": cmd.command_id,
                                    "status": status})

    def _push_body(self, cmd: IotdaCommand) -> dict[str, Any]:
        """The rule engine's `device.command.status` message (docs/platforms.md,
        "IoTDA: push")."""
        s, now = self.settings, self.engine.now_ms
        product = s.iotda_product_id
        node = cmd.device_id.removeprefix(f"{product}_")
        body = {k: v for k, v in cmd.detail().items() if k != "device_id"}
        return {
            "resource": "device.command.status", "event": "update",
            "event_time": ms_to_iotda(now), "event_time_ms": ms_to_iso(now),
            "request_id": self.new_request_id(),
            "notify_data": {
                "header": {"app_id": s.iotda_app_id, "device_id": cmd.device_id,
                           "node_id": node, "product_id": product,
                           "gateway_id": cmd.device_id, "tags": []},
                "body": body,
            },
        }

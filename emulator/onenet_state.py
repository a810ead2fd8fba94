"""OneNET cached commands: records, the release-on-uplink lifecycle, and the HTTP pushes.

Lifecycle (docs/platforms.md, "OneNET: cached commands"): send_status 1 (wait) until an uplink
whose kind matches
`trigger_msg` arrives between valid_time and expired_time; then 3 (sent); the device's answer
makes it 5 with confirm_status 0 (SUCCESS) or a failure code. No answer within `timeout` seconds:
`remain` drops by one and the command waits (1) for the next qualifying uplink, or, with no retries
left, ends as 6 (failed; a setting makes it 7) with confirm_status 5 TIME_OUT. Still waiting at
expired_time: 4. Cancelled through the API: 2. A device takes its commands one at a time, in order.
Pushes: type 7 when a command reaches a send_status in `onenet_push_on` (5 and 6 by default),
type 2 when a device comes online or goes offline, type 1 for each notify (datapoint) uplink.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from emulator.delivery import Message, Outbox
from emulator.devices import Device, Fleet
from emulator.engine import Engine, Event, Rngs
from emulator.onenet_params import OneNetError, not_found
from emulator.push import PushTarget
from emulator.settings import Settings
from platforms.formats import ms_to_onenet
from platforms.onenet_vocab import CONFIRM_NAMES

CMD_TYPES = {"READ": 0, "WRITE": 1, "EXECUTE": 2}


def _time(ms: int | None) -> str | None:
    return ms_to_onenet(ms, sep=" ") if ms is not None else None


@dataclass
class OneNetCommand:
    uuid: str
    imei: str
    dev_id: int
    kind: str
    fields: dict[str, Any]
    created_ms: int
    remain: int
    min_uplink_seq: int
    send_status: int = 1
    send_ms: int | None = None
    sent_count: int = 0
    confirm_ms: int | None = None
    confirm_status: int | None = None
    feedback_ms: int | None = None
    feedback_msg: list[dict[str, Any]] = field(default_factory=list)
    cmd_result: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    expiry: Event | None = None

    def item(self) -> dict[str, Any]:
        """A history item: times as Beijing text, confirm_status by name."""
        f = self.fields
        item = {"cmd_uuid": self.uuid, "type": self.kind, "create_time": _time(self.created_ms),
                "valid_time": _time(f["valid_ms"]), "expired_time": _time(f["expired_ms"]),
                "send_time": _time(self.send_ms), "trigger_msg": f["trigger_msg"],
                "send_status": self.send_status, "confirm_time": _time(self.confirm_ms),
                "confirm_status": CONFIRM_NAMES.get(self.confirm_status),
                "feedback_time": _time(self.feedback_ms), "imei": self.imei,
                "remain": self.remain}
        return {k: v for k, v in item.items() if v is not None}

    def detail(self) -> dict[str, Any]:
        """The detail: the item without cmd_uuid, plus args, content, result, feedback."""
        detail = {k: v for k, v in self.item().items() if k != "cmd_uuid"}
        detail.update(args=self.fields["args"], content=self.fields["content"],
                      feedback_msg=self.feedback_msg)
        if self.confirm_status == 0 and self.cmd_result is not None:
            detail["cmd_result"] = self.cmd_result
        return detail

    def push_msg(self) -> dict[str, Any]:
        """The type 7 push: ints and epoch ms."""
        msg = {"type": 7, "cmd_id": self.uuid, "imei": self.imei, "dev_id": self.dev_id,
               "cmd_type": CMD_TYPES[self.kind], "send_time": self.send_ms,
               "send_status": self.send_status, "confirm_time": self.confirm_ms,
               "confirm_status": self.confirm_status}
        if self.confirm_status == 0 and self.cmd_result is not None:
            msg["confirm_body"] = self.cmd_result
        return {k: v for k, v in msg.items() if v is not None}

    def to_truth(self) -> dict[str, Any]:
        return {
            "platform": "onenet", "command_id": self.uuid, "device_id": self.imei,
            "type": self.kind, "status": self.send_status,
            "confirm_status": self.confirm_status,
            "confirm_name": CONFIRM_NAMES.get(self.confirm_status),
            "remain": self.remain, "history": self.history, "created_ms": self.created_ms,
            "valid_ms": self.fields["valid_ms"], "expire_ms": self.fields["expired_ms"],
            "sent": self.sent_count > 0, "first_sent_ms": self._first_sent(),
            "sent_count": self.sent_count,
        }

    def _first_sent(self) -> int | None:
        return next((h["at_ms"] for h in self.history if h["status"] == 3), None)


class OneNetPlatform:
    """Cached commands and pushes of the OneNET product; also the fleet's OneNET listener."""

    def __init__(self, settings: Settings, engine: Engine, rngs: Rngs, outbox: Outbox,
                 push: PushTarget | None) -> None:
        self.settings, self.engine, self.rngs, self.outbox = settings, engine, rngs, outbox
        self.push = push
        self.fleet: Fleet | None = None
        self.commands: dict[str, OneNetCommand] = {}
        self.by_device: dict[str, list[OneNetCommand]] = {}
        self.values: dict[str, float] = {}

    # -- API -------------------------------------------------------------------------------
    def device(self, imei: str) -> Device:
        device = self.fleet.get("onenet", imei) if self.fleet else None
        if device is None:
            raise not_found(f"device {imei}")
        return device

    def create(self, fields: dict[str, Any]) -> OneNetCommand:
        device = self.device(fields["imei"])
        queue = self.by_device.setdefault(device.device_id, [])
        if sum(c.send_status in (1, 3) for c in queue) >= self.settings.onenet_cached_limit:
            raise OneNetError(self.settings.onenet_limit_errno,
                              f"system logic limit: at most {self.settings.onenet_cached_limit} "
                              "cached commands per device")
        cmd = OneNetCommand(self.rngs.uuid(), device.device_id, device.dev_id, fields["kind"],
                            fields, self.engine.now_ms, fields["retry"], device.uplink_seq + 1)
        self.commands[cmd.uuid] = cmd
        queue.append(cmd)
        self._set(cmd, 1)
        cmd.expiry = self.engine.at(fields["expired_ms"], self._expire, cmd)
        return cmd

    def command(self, uuid: str, imei: str) -> OneNetCommand:
        cmd = self.commands.get(uuid)
        if cmd is None or cmd.imei != imei:
            raise not_found(f"command {uuid}")
        return cmd

    def cancel(self, uuid: str, imei: str) -> None:
        cmd = self.command(uuid, imei)
        if cmd.send_status != 1:
            raise OneNetError(self.settings.onenet_limit_errno,
                              f"system logic limit: the command is not waiting "
                              f"(send_status {cmd.send_status})")
        self._cancel(cmd)

    def cancel_all(self, imei: str) -> dict[str, Any]:
        device = self.device(imei)
        queue = self.by_device.get(device.device_id, [])
        succ = [c.uuid for c in queue if c.send_status == 1]
        failed = [c.uuid for c in queue if c.send_status == 3]
        for uuid in succ:
            self._cancel(self.commands[uuid])
        return {"succ": succ, "failed": failed, "total": len(succ) + len(failed)}

    def history(self, q: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        self.device(q["imei"])
        found = [c for c in self.by_device.get(q["imei"], [])
                 if c.created_ms >= q["start_ms"]
                 and (q["end_ms"] is None or c.created_ms <= q["end_ms"])
                 and (q["uuid"] is None or c.uuid == q["uuid"])]
        found.sort(key=lambda c: c.created_ms)
        if q["sort"] == "DESC":
            found.reverse()
        first = (q["page"] - 1) * q["per_page"]
        return len(found), [c.item() for c in found[first:first + q["per_page"]]]

    # -- the fleet's listener ---------------------------------------------------------------
    def on_online(self, device: Device) -> None:
        self._push_status(device, 1)

    def on_offline(self, device: Device) -> None:
        self._push_status(device, 0)

    def on_uplink(self, device: Device, kind: str) -> None:
        if kind == "notify":
            b = device.behaviour
            value = self.values.get(device.device_id, b.value)
            value = round(value + self.rngs.devices.uniform(-0.5, 0.5), 1)
            self.values[device.device_id] = value
            self._push({"type": 1, "dev_id": device.dev_id, "imei": device.device_id,
                        "ds_id": b.ds_id, "at": self.engine.now_ms, "value": value},
                       {"kind": "push", "type": 1, "device_id": device.device_id})
        self._pump(device)

    # -- lifecycle --------------------------------------------------------------------------
    def _eligible(self, cmd: OneNetCommand, device: Device) -> bool:
        f, now = cmd.fields, self.engine.now_ms
        if cmd.send_status != 1 or not f["valid_ms"] <= now < f["expired_ms"]:
            return False
        return any(seq >= cmd.min_uplink_seq and bit & f["trigger_msg"] and at >= f["valid_ms"]
                   for seq, bit, at in device.session_uplinks)

    def _pump(self, device: Device) -> None:
        if not device.awake or device.busy is not None:
            return
        cmd = next((c for c in self.by_device.get(device.device_id, [])
                    if self._eligible(c, device)), None)
        if cmd is None:
            return
        cmd.send_ms, cmd.sent_count, device.busy = self.engine.now_ms, cmd.sent_count + 1, cmd.uuid
        self._set(cmd, 3)
        answer = device.draw_answer(self.rngs.devices)
        answer_s = device.behaviour.ack_delay_s + device.behaviour.result_delay_s
        if answer == "no_answer" or answer_s > cmd.fields["timeout_s"]:
            self.engine.after(cmd.fields["timeout_s"], self._no_answer, cmd, device)
        else:
            self.engine.after(answer_s, self._answer, cmd, device, answer)

    def _answer(self, cmd: OneNetCommand, device: Device, answer: str) -> None:
        cmd.confirm_ms = self.engine.now_ms
        cmd.confirm_status = 0 if answer == "success" else device.behaviour.failure_code
        if answer == "success":
            cmd.cmd_result = self._result(cmd, device)
        self._set(cmd, 5)
        self.fleet.touch(device)
        self._free(cmd, device)

    def _result(self, cmd: OneNetCommand, device: Device) -> dict[str, Any] | None:
        if cmd.kind != "READ":
            # nothing to report, so no confirm_body at all: an empty `{}` decodes in PHP as
            # `[]`, and a PHP receiver's re-encoded msg then fails its signature
            return None
        f = cmd.fields
        value = self.values.get(device.device_id, device.behaviour.value)
        return {"obj_id": f["obj_id"], "obj_inst": [{
            "obj_inst_id": f["obj_inst_id"] or 0,
            "res": [{"res_id": f["res_id"] if f["res_id"] is not None else 5700, "val": value}]}]}

    def _no_answer(self, cmd: OneNetCommand, device: Device) -> None:
        if cmd.remain == 0:
            cmd.confirm_ms, cmd.confirm_status = self.engine.now_ms, 5
            self._set(cmd, self.settings.onenet_timeout_send_status)
        elif self.engine.now_ms >= cmd.fields["expired_ms"]:
            self._set(cmd, 4)
        else:
            cmd.remain -= 1
            cmd.min_uplink_seq = device.uplink_seq + 1
            self._set(cmd, 1)
        self._free(cmd, device)

    def _free(self, cmd: OneNetCommand, device: Device) -> None:
        if device.busy == cmd.uuid:
            device.busy = None
            self._pump(device)

    def _expire(self, cmd: OneNetCommand) -> None:
        if cmd.send_status == 1:
            self._set(cmd, 4)

    def _cancel(self, cmd: OneNetCommand) -> None:
        self.engine.cancel(cmd.expiry)
        self._set(cmd, 2)

    def _set(self, cmd: OneNetCommand, send_status: int) -> None:
        cmd.send_status = send_status
        entry: dict[str, Any] = {"status": send_status, "at_ms": self.engine.now_ms}
        if send_status in (5, 6, 7):
            entry["confirm_status"] = cmd.confirm_status
        if send_status == 1 and cmd.history:
            entry["remain"] = cmd.remain
        cmd.history.append(entry)
        if send_status in self.settings.onenet_push_on:
            self._push(cmd.push_msg(), {"kind": "push", "type": 7, "command_id": cmd.uuid,
                                        "send_status": send_status},
                       on_attempt=partial(self._feedback, cmd))

    def _feedback(self, cmd: OneNetCommand, ok: bool) -> None:
        cmd.feedback_ms = self.engine.now_ms
        cmd.feedback_msg.append({"feedback_time": _time(cmd.feedback_ms),
                                 "feedback_status": 0 if ok else 1})

    def _push_status(self, device: Device, status: int) -> None:
        self._push({"type": 2, "dev_id": device.dev_id, "imei": device.device_id,
                    "status": status, "login_type": 10, "at": self.engine.now_ms},
                   {"kind": "push", "type": 2, "device_id": device.device_id, "status": status})

    def _push(self, msg: dict[str, Any], meta: dict[str, Any], on_attempt: Any = None) -> None:
        if self.push is None:
            return
        body = self.push.body(msg, self.rngs.nonce())
        self.outbox.submit(Message("onenet", self.push.url, body, meta, on_attempt))

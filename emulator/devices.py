"""Simulated NB-IoT devices: a PSM sleep/wake cycle with jitter, uplinks, and answer draws.

A device sleeps for `wake_period_s` (+/- `jitter_s`), wakes, sends an uplink (LwM2M register the
first time, update after that; on OneNET also a notify with a datapoint), and stays reachable for
`awake_s` after its last activity. The platforms (`Listener`) decide what to send it; the device
only decides how it answers each command: success, failure or no answer, with the configured
probabilities, drawn from the seeded device stream.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Protocol

from emulator.engine import Engine, Event, Rngs

PLATFORMS = ("huawei", "onenet", "iotda")
#: LwM2M uplink kinds and their bit in OneNET's `trigger_msg` mask.
UPLINKS = {"register": 1, "update": 2, "notify": 4}


class DeviceError(ValueError):
    """Raised when a device definition or change is invalid."""


class Listener(Protocol):
    def on_online(self, device: Device) -> None: ...
    def on_uplink(self, device: Device, kind: str) -> None: ...
    def on_offline(self, device: Device) -> None: ...


@dataclass(frozen=True)
class Behaviour:
    """How a device sleeps and answers; times in emulated seconds."""

    wake_period_s: float = 3600.0  #: time asleep between wakes; 0 = wakes only when told
    jitter_s: float = 0.0
    awake_s: float = 20.0  #: reachable this long after its last activity
    failure_p: float = 0.0  #: answers with an error
    no_answer_p: float = 0.0  #: never answers (Huawei TIMEOUT; OneNET retry or failed)
    ack_delay_s: float = 1.0  #: Huawei: SENT -> DELIVERED
    result_delay_s: float = 1.0  #: then -> SUCCESSFUL/FAILED (OneNET: the whole answer)
    failure_code: int = 4  #: OneNET confirm_status of a failure answer (4 INTERNAL_SERVER_ERROR)
    notify_on_wake: bool = True  #: OneNET: each wake also sends a notify (a type 1 datapoint)
    ds_id: str = "3303_0_5700"  #: OneNET datastream of that datapoint
    value: float = 21.5  #: its starting value; it drifts a little at each wake

    @property
    def success_p(self) -> float:
        return max(0.0, 1.0 - self.failure_p - self.no_answer_p)

    def updated(self, changes: dict[str, Any]) -> Behaviour:
        known = {f.name: f.type for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise DeviceError(f"unknown device setting {name!r}")
            clean[name] = _coerce(name, known[name], value)
        result = replace(self, **clean)
        if result.failure_p + result.no_answer_p > 1 + 1e-9:
            raise DeviceError("failure_p + no_answer_p must not exceed 1")
        return result


def _coerce(name: str, type_name: str, value: Any) -> Any:
    if type_name == "str":
        if not isinstance(value, str) or not value:
            raise DeviceError(f"{name} must be a non-empty string")
        return value
    if type_name == "bool":
        if not isinstance(value, bool):
            raise DeviceError(f"{name} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DeviceError(f"{name} must be a number")
    if value < 0 and name != "value":
        raise DeviceError(f"{name} must not be negative")
    if name.endswith("_p") and value > 1:
        raise DeviceError(f"{name} is a probability in [0, 1]")
    if name == "failure_code" and not 1 <= value <= 13:
        raise DeviceError("failure_code is a OneNET confirm_status from 1 to 13")
    return int(value) if type_name == "int" else float(value)


@dataclass
class Device:
    platform: str
    device_id: str  #: Huawei or IoTDA device_id, or the OneNET IMEI
    behaviour: Behaviour
    dev_id: int | None = None  #: OneNET's numeric device id
    awake: bool = False
    awake_until_ms: int = 0
    next_wake_ms: int | None = None
    wakes: int = 0
    registered: bool = False
    busy: str | None = None  #: the command the device is handling
    uplink_seq: int = 0
    session_uplinks: list[tuple[int, int, int]] = field(default_factory=list)  #: (seq, bit, at)
    wake_event: Event | None = None
    sleep_event: Event | None = None

    def draw_answer(self, rng: random.Random) -> str:
        """'success', 'failure' or 'no_answer'."""
        x = rng.random()
        if x < self.behaviour.failure_p:
            return "failure"
        if x < self.behaviour.failure_p + self.behaviour.no_answer_p:
            return "no_answer"
        return "success"

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "device_id": self.device_id, "dev_id": self.dev_id,
            "awake": self.awake, "awake_until_ms": self.awake_until_ms if self.awake else None,
            "next_wake_ms": self.next_wake_ms, "wakes": self.wakes, "busy": self.busy,
            "behaviour": {**asdict(self.behaviour), "success_p": self.behaviour.success_p},
        }


class Fleet:
    """Every simulated device, and its sleep/wake cycle on the engine."""

    def __init__(self, engine: Engine, rngs: Rngs, listeners: dict[str, Listener]) -> None:
        self.engine, self.rngs, self.listeners = engine, rngs, listeners
        self.devices: dict[tuple[str, str], Device] = {}
        self._next_dev_id = 52_000_001

    def add(self, platform: str, device_id: str | None = None,
            first_wake_s: float | None = None, **behaviour: Any) -> Device:
        if platform not in PLATFORMS:
            raise DeviceError(f"platform must be one of {PLATFORMS}")
        if device_id is None:
            device_id = self._new_imei() if platform == "onenet" else self.rngs.uuid()
        if not isinstance(device_id, str) or not 1 <= len(device_id) <= 64:
            raise DeviceError("device_id must be a string of 1 to 64 characters")
        if (platform, device_id) in self.devices:
            raise DeviceError(f"device {platform}/{device_id} exists already")
        device = Device(platform, device_id, Behaviour().updated(behaviour))
        if platform == "onenet":
            device.dev_id, self._next_dev_id = self._next_dev_id, self._next_dev_id + 1
        self.devices[(platform, device_id)] = device
        if first_wake_s is not None:
            if isinstance(first_wake_s, bool) or not isinstance(first_wake_s, (int, float)) \
                    or first_wake_s < 0:
                raise DeviceError("first_wake_s must be a number >= 0")
            self._schedule_wake(device, first_wake_s)
        else:
            self._schedule_next_wake(device)
        return device

    def _new_imei(self) -> str:
        while True:
            imei = "86" + "".join(str(self.rngs.ids.randrange(10)) for _ in range(13))
            if ("onenet", imei) not in self.devices:
                return imei

    def get(self, platform: str, device_id: str) -> Device | None:
        return self.devices.get((platform, device_id))

    def update(self, device: Device, changes: dict[str, Any]) -> None:
        device.behaviour = device.behaviour.updated(changes)
        if not device.awake and {"wake_period_s", "jitter_s"} & changes.keys():
            self._schedule_next_wake(device)

    def wake(self, device: Device, uplink: str | None = None) -> None:
        """The device wakes (if asleep) and sends an uplink: its PSM timer, or told to."""
        if uplink is not None and uplink not in UPLINKS:
            raise DeviceError(f"uplink must be one of {sorted(UPLINKS)}")
        listener = self.listeners[device.platform]
        woke = not device.awake
        if woke:
            self.engine.cancel(device.wake_event)
            device.awake, device.next_wake_ms, device.wake_event = True, None, None
            device.wakes += 1
            device.session_uplinks = []
            listener.on_online(device)
        self.touch(device)
        kind = uplink or ("update" if device.registered else "register")
        self.uplink(device, kind)
        if woke and uplink is None and device.platform == "onenet" \
                and device.behaviour.notify_on_wake:
            self.uplink(device, "notify")

    def uplink(self, device: Device, kind: str) -> None:
        if kind == "register":
            device.registered = True
        device.uplink_seq += 1
        device.session_uplinks.append((device.uplink_seq, UPLINKS[kind], self.engine.now_ms))
        self.listeners[device.platform].on_uplink(device, kind)

    def touch(self, device: Device) -> None:
        """Activity: the device stays reachable `awake_s` longer."""
        if not device.awake:
            return
        device.awake_until_ms = self.engine.now_ms + round(device.behaviour.awake_s * 1000)
        self.engine.cancel(device.sleep_event)
        device.sleep_event = self.engine.at(device.awake_until_ms, self._sleep, device)

    def sleep(self, device: Device) -> None:
        """Put the device to sleep now."""
        if device.awake:
            device.awake_until_ms = self.engine.now_ms
            self._sleep(device)

    def _sleep(self, device: Device) -> None:
        if not device.awake or self.engine.now_ms < device.awake_until_ms:
            return
        self.engine.cancel(device.sleep_event)
        device.awake, device.sleep_event = False, None
        self.listeners[device.platform].on_offline(device)
        self._schedule_next_wake(device)

    def _schedule_next_wake(self, device: Device) -> None:
        b = device.behaviour
        if b.wake_period_s <= 0:
            self.engine.cancel(device.wake_event)
            device.wake_event, device.next_wake_ms = None, None
            return
        jitter = self.rngs.devices.uniform(-b.jitter_s, b.jitter_s) if b.jitter_s else 0.0
        self._schedule_wake(device, max(1.0, b.wake_period_s + jitter))

    def _schedule_wake(self, device: Device, delay_s: float) -> None:
        self.engine.cancel(device.wake_event)
        device.wake_event = self.engine.after(delay_s, self.wake, device)
        device.next_wake_ms = device.wake_event.at_ms

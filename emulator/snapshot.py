"""Keeping the emulator's state across restarts: a snapshot written on exit, read at start.

A real platform keeps its commands when the application restarts; an emulator that forgot them
would make a command PENDING in cmdkeeper a zombie the platform never heard of (the demo's
`bin/run` restarted). With EMULATOR_STATE_FILE set, the worker pickles its world (devices,
commands, cancel tasks, tokens, the scheduled events and the callbacks not yet sent) when it
exits, and a new emulator resumes from it: its clock goes on from the saved moment plus the time
it was down (times the speed), so what the devices would have done meanwhile happens on the
first look, as it would have on a platform that kept running.

The file is written by this emulator for itself under the developer's own `var/`; it is a
pickle, so never point EMULATOR_STATE_FILE at a file from elsewhere. A snapshot that cannot be
read (another version of the code, a damaged file) is set aside and the emulator starts empty.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import pickle
import time
from collections import deque
from pathlib import Path
from typing import Any

from emulator.clock import EmulatedClock
from emulator.iotda_push import Target
from emulator.push import PushTarget
from emulator.world import Emulator

log = logging.getLogger("emulator.snapshot")

#: Bumped whenever what is pickled changes shape.
FORMAT = 1

#: What is saved of the world (the call log, rate limiter and faults start afresh).
PARTS = ("seed", "engine", "rngs", "tokens", "huawei", "onenet", "forwarder", "iotda", "fleet")


class _Pickler(pickle.Pickler):
    """Leaves out the delivery queue and the lock, which belong to the running process."""

    def __init__(self, file: io.BufferedIOBase, emulator: Emulator) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.emulator = emulator

    def persistent_id(self, obj: Any) -> str | None:
        if obj is self.emulator.outbox:
            return "outbox"
        if obj is self.emulator.lock:
            return "lock"
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, emulator: Emulator) -> None:
        super().__init__(file)
        self.emulator = emulator

    def persistent_load(self, pid: Any) -> Any:
        return {"outbox": self.emulator.outbox, "lock": self.emulator.lock}[pid]


def save(emulator: Emulator, path: Path) -> None:
    """Write the world to `path` (atomically: a crash mid-way leaves the previous snapshot)."""
    with emulator.lock:
        emulator.engine.sync()
        outbox = emulator.outbox
        next_id = next(outbox._ids)
        outbox._ids = itertools.count(next_id)
        state = {
            "format": FORMAT, "saved_wall_ms": time.time_ns() // 1_000_000,
            "now_ms": emulator.engine.now_ms, "speed": emulator.clock.speed,
            "parts": {name: getattr(emulator, name) for name in PARTS},
            "outbox": {"ready": list(outbox._ready), "held": outbox._held,
                       "scheduled": outbox._scheduled, "next_id": next_id},
        }
        buffer = io.BytesIO()
        _Pickler(buffer, emulator).dump(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def restore(emulator: Emulator, path: Path) -> bool:
    """Resume from the snapshot at `path`; False (and the emulator as it was) when there is
    none or it cannot be read."""
    if not path.exists():
        return False
    try:
        with open(path, "rb") as f:
            state = _Unpickler(f, emulator).load()
        if state.get("format") != FORMAT:
            raise ValueError(f"snapshot format {state.get('format')!r}, expected {FORMAT}")
    except Exception as e:  # noqa: BLE001 - any unreadable snapshot is set aside, not fatal
        aside = path.with_suffix(path.suffix + ".unreadable")
        os.replace(path, aside)
        log.warning("emulator: snapshot %s could not be read (%s: %s); moved to %s, starting "
                    "empty", path, type(e).__name__, e, aside)
        return False
    with emulator.lock:
        for name, value in state["parts"].items():
            setattr(emulator, name, value)
        down_ms = max(0, time.time_ns() // 1_000_000 - state["saved_wall_ms"])
        emulator.clock = EmulatedClock(state["now_ms"] + int(down_ms * state["speed"]),
                                       state["speed"])
        emulator.engine.clock = emulator.clock
        saved = state["outbox"]
        outbox = emulator.outbox
        outbox.reset(emulator.engine, emulator.rngs.delivery)
        for message in saved["ready"]:
            message.epoch = outbox.epoch
        for held in saved["held"].values():
            for message in held:
                message.epoch = outbox.epoch
        outbox._ready = deque(saved["ready"])
        outbox._held = saved["held"]
        outbox._scheduled = saved["scheduled"]
        outbox._ids = itertools.count(saved["next_id"])
        _current_settings(emulator)
    log.info("emulator: resumed from %s (%d command(s), %d device(s))", path,
             len(emulator.huawei.commands) + len(emulator.onenet.commands)
             + len(emulator.iotda.commands), len(emulator.fleet.devices))
    return True


def _current_settings(emulator: Emulator) -> None:
    """The settings of this start, not of the saved one: push targets (the demo's ports may
    have changed) and the devices it defines (added when missing, their behaviour as defined)."""
    s = emulator.settings
    for platform in (emulator.huawei, emulator.onenet, emulator.iotda):
        platform.settings = s
    emulator.huawei.pending = s.huawei_pending_status
    emulator.onenet.push = (PushTarget(s.onenet_push_url, s.onenet_push_token,
                                       s.onenet_aes_key or None, s.onenet_aes_block).check()
                            if s.onenet_push_url else None)
    target = Target.from_settings(s)
    if target != emulator.forwarder.target:
        emulator.forwarder.set_target(target)
    for spec in s.devices:
        spec = dict(spec)
        platform, device_id = spec.pop("platform"), spec.pop("device_id", None)
        spec.pop("first_wake_s", None)
        device = emulator.fleet.get(platform, device_id) if device_id else None
        if device is None:
            emulator.fleet.add(platform, device_id, **spec)
        elif spec:
            emulator.fleet.update(device, spec)

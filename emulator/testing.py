"""Start the emulator as a real process on a free port, for tests and benchmarks.

    with start_emulator(seed=1, speed=0) as emu:
        emu.client.add_device("huawei", "dev-1")
        requests.post(emu.url + "/iocm/app/sec/v1.1.0/login", data={...})

It is `python -m emulator` itself (gunicorn with `header_map = dangerous`), so a client sees
exactly what a developer's one does, `app_key` header included.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from dev.procs import ROOT, free_port, python_env, wait_until
from emulator.client import EmulatorClient

#: The emulated start time of test instances unless told otherwise: 2024-01-01T00:00:00Z.
TEST_START_MS = 1_704_067_200_000


@dataclass
class RunningEmulator:
    """A started emulator: its base URL (both platforms and the control API) and a client."""

    proc: subprocess.Popen
    url: str
    client: EmulatorClient

    def stop(self, timeout_s: float = 10) -> None:
        """Quick shutdown (SIGINT: gunicorn does not wait for idle keep-alive connections)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_emulator(*, seed: int = 1, speed: float = 0.0, start_ms: int | None = TEST_START_MS,
                   port: int | None = None, faults: dict[str, Any] | None = None,
                   env: dict[str, str] | None = None, args: list[str] | None = None,
                   log: Path | None = None, timeout_s: float = 30) -> RunningEmulator:
    """Run `python -m emulator` on 127.0.0.1 and wait (with a deadline) until it answers.

    Defaults suit tests: a fixed seed and start time, and a clock that moves only when advanced.
    `env` adds EMULATOR_* settings; `args` adds command-line flags; `log` collects its output.
    """
    port = port or free_port()
    cmd = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port),
           "--seed", str(seed), "--speed", str(speed)]
    if start_ms is not None:
        cmd += ["--start", str(start_ms)]
    if faults:
        cmd += ["--faults", json.dumps(faults)]
    # The caller's shell may hold EMULATOR_* settings; only `env` decides them here.
    full_env = {k: v for k, v in python_env(env or {}).items()
                if not k.startswith("EMULATOR_") or k in (env or {})}
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen([*cmd, *(args or [])], cwd=ROOT, env=full_env, stdout=out,
                            stderr=out)
    url = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False
    try:
        wait_until(lambda: session.get(url + "/_emulator/status", timeout=1).ok, timeout_s,
                   "emulator", proc=proc)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise
    return RunningEmulator(proc, url, EmulatorClient(url))


def busiest_window(calls: list[dict[str, Any]], window_s: float = 60.0,
                   clock: str = "real_ms") -> int:
    """The most calls (from `EmulatorClient.calls`) in any rolling window of `window_s`.

    A window is half-open like the emulator's limiter: a call at t counts until t + window_s.
    `clock` is "real_ms" (what a client's rate limiter sees) or "at_ms" (emulated time).
    """
    times = sorted(c[clock] for c in calls)
    window_ms, best, first = window_s * 1000, 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - window_ms:
            first += 1
        best = max(best, last - first + 1)
    return best

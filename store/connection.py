"""Redis connections: the URL a process should use, and clients for the store and the broker."""

from __future__ import annotations

import redis

from cmdkeeper import embedded_redis
from cmdkeeper.config import Config

#: Socket timeouts for store clients, in seconds: a hung Redis must fail a request, not hang it.
SOCKET_TIMEOUT_S = 5.0


def resolve_url(config: Config) -> str:
    """REDIS_URL when set; otherwise the embedded Redis under `var_dir`, started if needed."""
    if config.redis_url:
        url = config.redis_url
        if config.redis_insecure_tls and url.startswith("rediss://") \
                and "ssl_cert_reqs=" not in url:
            url += ("&" if "?" in url else "?") + "ssl_cert_reqs=none"
        return url
    url, _ = embedded_redis.ensure(config.var_dir)
    return url


def check_compact_hashes(client: redis.Redis) -> str | None:
    """A warning when the server would store command records in the bigger hash encoding."""
    try:
        settings = client.config_get("hash-max-*")
    except redis.ResponseError:
        return None  # CONFIG is disabled on many managed services: nothing to check
    except redis.RedisError:
        return None  # Redis is not up yet: /healthz will say so; nothing to check now
    value = int(settings.get("hash-max-listpack-value") or settings.get("hash-max-ziplist-value")
                or 0)
    if value and value < 1024:
        return (f"Redis hash-max-listpack-value is {value}: command records will take about "
                "twice the memory; set it to 1024 (see README, Redis)")
    return None


def client(url: str) -> redis.Redis:
    """A client for the store: str responses, bounded timeouts, retry once on a dropped link."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )

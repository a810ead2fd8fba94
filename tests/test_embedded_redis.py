"""The embedded Redis: started once, shared, persisting with AOF, stopped cleanly."""

from __future__ import annotations

import redis

from dev import embedded_redis


def test_started_once_shared_and_persistent(tmp_path):
    var = tmp_path / "v"
    url, started = embedded_redis.ensure(var)
    try:
        assert started and url.startswith("unix://")
        again, started_again = embedded_redis.ensure(var)
        assert (again, started_again) == (url, False)
        client = redis.Redis.from_url(url)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.set("kept", "1")
    finally:
        assert embedded_redis.stop(var)
    assert not embedded_redis.stop(var)
    # restarted from its AOF, the data is still there
    url, started = embedded_redis.ensure(var)
    try:
        assert started and redis.Redis.from_url(url).get("kept") == b"1"
    finally:
        embedded_redis.stop(var)

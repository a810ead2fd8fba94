"""Loads the Lua scripts in `store/lua/` and registers them on a Redis client.

Each script is `common.lua` followed by its own file (Redis scripts cannot include each other).
Registered scripts run with EVALSHA and fall back to EVAL once after a Redis restart: one round
trip either way.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import redis

LUA_DIR = Path(__file__).parent / "lua"
#: Scripts that use the helpers of common.lua.
SHARED = ("apply_event", "create_command", "finish_reconcile", "record_error",
          "request_reconcile", "refresh_due", "park")
#: Every script, each registered as an attribute of the same name on `Scripts`.
NAMES = SHARED + ("list_device", "ingest", "device_state", "claim_due")


@cache
def source(name: str) -> str:
    body = (LUA_DIR / f"{name}.lua").read_text()
    if name in SHARED:
        return (LUA_DIR / "common.lua").read_text() + "\n" + body
    return body


class Scripts:
    """The registered scripts of one Redis client, one attribute per script name."""

    def __init__(self, client: redis.Redis) -> None:
        for name in NAMES:
            setattr(self, name, client.register_script(source(name)))

    def __getattr__(self, name: str):  # only reached for a name that is not a script
        raise AttributeError(f"no Lua script named {name!r} in {LUA_DIR}")

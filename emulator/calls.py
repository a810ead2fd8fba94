"""The log of every platform API call received: the ground truth of what a client did.

Each entry: seq, emulated time (`at_ms`), real time (`real_ms`), platform, app (Huawei appId,
OneNET "master" or None when the call had no valid identity), method, path, query, HTTP status
and the platform error code (Huawei `error_code`, OneNET `errno` as a string; None on success).
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from typing import Any

#: The log keeps at most this many calls.
LOG_LIMIT = 500_000


class CallLog:
    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self._seq = itertools.count(1)

    def record(self, *, at_ms: int, platform: str, app: str | None, method: str, path: str,
               query: str, status: int, error_code: str | None) -> None:
        self.entries.append({
            "seq": next(self._seq), "at_ms": at_ms, "real_ms": time.time_ns() // 1_000_000,
            "platform": platform, "app": app, "method": method, "path": path, "query": query,
            "status": status, "error_code": error_code,
        })

    def select(self, platform: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return [c for c in self.entries
                if c["seq"] > since and (platform is None or c["platform"] == platform)]

    def clear(self) -> None:
        self.entries.clear()
        self._seq = itertools.count(1)

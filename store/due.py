"""Claiming due work: which devices need a revocation or a reconcile now.

A claim costs O(log N + due) whatever the fleet size: each index is a sorted set scored by the
deadline, read with one bounded range query inside one Lua script (lua/claim_due.lua).
"""

from __future__ import annotations

import redis

from store.script_calls import Scripts


def _split(member: str) -> tuple[str, str]:
    platform, _, device_id = member.partition(":")
    return platform, device_id


def claim_due(client: redis.Redis, scripts: Scripts, index: str, now_ms: int, *, lease_ms: int,
              limit: int = 1000, lookahead_ms: int = 0) -> list[tuple[str, str, int]]:
    """Devices due on one index by `now + lookahead`, as (platform, device id, deadline); each is
    pushed `lease_ms` past now so no other sweep claims it meanwhile."""
    flat = scripts.claim_due(due_index=index, until_ms=now_ms + lookahead_ms,
                             lease_until_ms=now_ms + lease_ms, limit=limit)
    return [(*_split(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]


def claim_by_quota(scripts, index: str, now_ms: int, quotas: dict[str, int], *, lease_ms: int,
                   scan_limit: int = 1000) -> list[tuple[str, str, int]]:
    """Devices due on one index by now, earliest first, at most `quotas[platform]` of each
    platform (others are passed over), as (platform, device id, deadline); each is pushed
    `lease_ms` past now. At most `scan_limit` due entries are looked at."""
    if not any(quotas.values()):
        return []
    flat = scripts.claim_by_quota(due_index=index, until_ms=now_ms,
                                  lease_until_ms=now_ms + lease_ms, scan_limit=scan_limit,
                                  quotas=quotas)
    return [(*_split(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]

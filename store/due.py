"""Claiming due work: which devices need a revocation or a reconcile now.

A claim costs O(log N + due) whatever the fleet size: each index is a sorted set scored by the
deadline, read with one bounded range query inside one Lua script (lua/claim_due.lua).
"""

from __future__ import annotations

import redis


def _split(member: str) -> tuple[str, str]:
    platform, _, device_id = member.partition(":")
    return platform, device_id


#: How long a claim stays in the claim log after its deadline (longer than any budget window).
CLAIM_LOG_KEEP_MS = 5 * 60 * 1000


def claim_due(client: redis.Redis, scripts, index: str, now_ms: int, *, lease_ms: int,
              limit: int = 1000, lookahead_ms: int = 0,
              claim_log: str | None = None) -> list[tuple[str, str, int]]:
    """Devices due on one index by `now + lookahead`, as (platform, device id, deadline); each is
    pushed `lease_ms` past now so no other sweep claims it meanwhile, and logged at its deadline
    in `claim_log` when given."""
    args = [now_ms + lookahead_ms, now_ms + lease_ms, limit]
    if claim_log:
        flat = scripts.claim_due(keys=[index, claim_log],
                                 args=[*args, now_ms - CLAIM_LOG_KEEP_MS])
    else:
        flat = scripts.claim_due(keys=[index], args=args)
    return [(*_split(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]

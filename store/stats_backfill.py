"""Counting the commands recorded before the fleet counts existed: `python -m store.stats_backfill`.

The create and apply scripts count every command they write, and count an older one the first
time they touch it; until then an older command is missing from the figures (never subtracted,
so nothing goes negative). This walks every command record once with SCAN (never KEYS) and counts
each one not yet counted, with the same rule in one script per record: safe beside live traffic,
and safe to run again.
"""

from __future__ import annotations

import redis

from cmdkeeper.config import Config
from store import connection, keys
from store.script_calls import Scripts

#: Records looked at per SCAN step (and per pipeline).
SCAN_COUNT = 500


def count_existing(client: redis.Redis) -> int:
    """Count every not-yet-counted command; returns how many were counted now."""
    scripts = Scripts(client)
    pattern = keys.command("*", "*", "*")
    counted = 0
    batch: list[str] = []
    for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= SCAN_COUNT:
            counted += _count(client, scripts, batch)
            batch = []
    return counted + _count(client, scripts, batch)


def _count(client: redis.Redis, scripts: Scripts, batch: list[str]) -> int:
    pipe = client.pipeline(transaction=False)
    for key in batch:
        platform = key.split("{", 1)[1].split(":", 1)[0]
        command_id = key.split("}:cmd:", 1)[1]  # ids never hold a brace (webhooks/sink.py)
        scripts.count_existing(cmd=key, command_states=keys.command_states(platform),
                               pending_by_creation=keys.pending_by_creation(platform),
                               pending_by_stale_at=keys.pending_by_stale_at(platform),
                               command_id=command_id, client=pipe)
    return sum(int(n) for n in pipe.execute()) if batch else 0


def main() -> None:
    config = Config.from_env()
    counted = count_existing(connection.client(connection.resolve_url(config)))
    print(f"counted {counted} command(s) recorded before the fleet counts existed")


if __name__ == "__main__":
    main()

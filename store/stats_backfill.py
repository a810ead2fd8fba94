"""Counting, indexing and packing the commands recorded by an older cmdkeeper (before the fleet
counts, retention and packed records existed): `python -m store.stats_backfill`.

The create and apply scripts count every command they write, and count an older one the first
time they touch it; until then an older command is missing from the figures (never subtracted,
so nothing goes negative). Likewise they put each command they make final on the retention
index; a command that was final before retention existed is never touched again, so it would
stay forever. And records an older cmdkeeper kept as hashes are packed only when they next
change, which a final one never does. This walks every command record with SCAN (never KEYS),
counts each one not yet counted, indexes each final one not yet indexed and packs each one still
a hash, with the same rules in one script per record each: safe beside live traffic, and safe to
run again.
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
    return _walk(client, _count)


def index_existing_final(client: redis.Redis) -> int:
    """Put every final command not yet on the retention index there; how many were."""
    return _walk(client, _index_final)


def _walk(client: redis.Redis, step) -> int:
    scripts = Scripts(client)
    pattern = keys.command("*", "*", "*")
    done = 0
    batch: list[str] = []
    for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= SCAN_COUNT:
            done += step(client, scripts, batch)
            batch = []
    return done + step(client, scripts, batch)


def pack_existing(client: redis.Redis) -> int:
    """Rewrite every record an older cmdkeeper kept as a hash in the packed form (a sixth of
    the memory on a default Redis, docs/architecture.md "How a record is stored"); how many
    were rewritten."""
    return _walk(client, _pack)


def _pack(client: redis.Redis, scripts: Scripts, batch: list[str]) -> int:
    return int(scripts.pack_records(cmd_keys=batch)) if batch else 0


def _index_final(client: redis.Redis, scripts: Scripts, batch: list[str]) -> int:
    pipe = client.pipeline(transaction=False)
    for key in batch:
        tag = key.split("{", 1)[1].split("}", 1)[0]
        platform, _, device_id = tag.partition(":")
        command_id = key.split("}:cmd:", 1)[1]
        scripts.index_final(cmd=key, device_final=keys.device_final(platform, device_id),
                            due_retain=keys.DUE_RETAIN, command_id=command_id,
                            device_member=tag, client=pipe)
    return sum(int(n) for n in pipe.execute()) if batch else 0


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
    client = connection.client(connection.resolve_url(config))
    counted = count_existing(client)
    print(f"counted {counted} command(s) recorded before the fleet counts existed")
    indexed = index_existing_final(client)
    print(f"indexed {indexed} final command(s) recorded before retention existed")
    packed = pack_existing(client)
    print(f"rewrote {packed} record(s) kept as hashes by an older cmdkeeper in the packed form")


if __name__ == "__main__":
    main()

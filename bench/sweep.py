"""bench/sweep: how the clock's search for due work scales with the number of tracked commands,
and how much Redis memory a tracked command costs (timeline included).

For 10k, 100k and 1M tracked commands (4 per device, 60% finished with a 4-entry timeline, 1% of
them due for revocation), it times:
- `find_batch`: the clock's query for the first 25 due devices (25 is all there are at 10k);
- `find_all`: claiming every due device, in batches of the clock's claim limit, per due device;
and, as the baseline in the same run, a naive sweep that scans every command record for a passed
deadline (skipped at 1M unless --naive-all). Targets: find_batch and find_all per device within
2x from 10k to 1M; memory under 1 KB per command.

    .venv/bin/python -m bench.sweep [--sizes 10000,100000,1000000] [--naive-all]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import redis

from dev.embedded_redis import COMPACT_HASHES
from dev.procs import start_redis
from store import keys
from store.commands import CommandStore, NewCommand
from store.due import claim_due
from store.model import Event, Source, State
from store.records import read_raw
from store.script_calls import Scripts

NOW = 1_800_000_000_000
PER_DEVICE = 4
BATCH = 25
REPEATS = 200
RESULTS = Path(__file__).parent / "results"
#: The embedded Redis's settings (dev/embedded_redis.py): compact small hashes.
REDIS_ARGS = list(COMPACT_HASHES)


def populate(store: CommandStore, client: redis.Redis, n: int) -> int:
    """n commands; every 100th device is due. Returns the number of due devices."""
    devices = n // PER_DEVICE
    due = 0
    pipe = client.pipeline(transaction=False)
    for d in range(devices):
        device = f"dev{d:07d}"
        is_due = d % 100 == 0
        due += is_due
        for c in range(PER_DEVICE):
            cmd = f"{device}-c{c}"
            created = NOW - 7_200_000
            stale = created + (1_000 if is_due else 86_400_000)
            new = NewCommand("huawei", device, cmd, "Valve", "SET_STATE", {"state": c % 2},
                             created, stale, created + 172_800_000)
            store.create_command(new, pipe=pipe)
            if not is_due and (d * PER_DEVICE + c) % 10 < 6:
                for i, (state, status) in enumerate(((State.SENT, "SENT"),
                                                     (State.DELIVERED, "DELIVERED"),
                                                     (State.SUCCEEDED, "SUCCESSFUL"))):
                    at = created + 60_000 * (i + 1)
                    e = Event("huawei", device, cmd, state, status, at, Source.CALLBACK)
                    store.apply_event(e, at, fill=None, pipe=pipe)
        if d % 500 == 499:
            pipe.execute()
    pipe.execute()
    return due


def time_find_batch(client: redis.Redis) -> float:
    samples = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        found = client.zrangebyscore(keys.DUE_REVOKE, "-inf", NOW, start=0, num=BATCH)
        samples.append(time.perf_counter() - t)
        assert len(found) == BATCH
    return statistics.median(samples)


def time_find_all(client: redis.Redis, store: CommandStore, due: int) -> float:
    """Claim every due device (as the clock does, in batches); seconds per due device."""
    snapshot = client.dump(keys.DUE_REVOKE)
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        claimed = 0
        while True:
            batch = claim_due(client, store.scripts, keys.DUE_REVOKE, NOW, lease_ms=600_000,
                              limit=1000)
            claimed += len(batch)
            if len(batch) < 1000:
                break
        samples.append((time.perf_counter() - t) / max(claimed, 1))
        assert claimed == due, (claimed, due)
        client.restore(keys.DUE_REVOKE, 0, snapshot, replace=True)
    return statistics.median(samples)


def time_naive(client: redis.Redis, due: int) -> float:
    """The baseline: scan every command record for a passed stale deadline."""
    scripts = Scripts(client)
    t = time.perf_counter()
    found = set()
    for key in client.scan_iter(match="ck:*:cmd:*", count=1000):
        [row] = read_raw(scripts, [key], fields=("state", "stale_at"))
        if row.get("state") == "PENDING" and row.get("stale_at") and int(row["stale_at"]) <= NOW:
            found.add(key.partition("}")[0])  # the device: ck:{<platform>:<device>}
    assert len(found) == due
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--naive-all", action="store_true", help="run the naive scan at 1M too")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), extra_args=REDIS_ARGS)
        try:
            client = redis.Redis.from_url(server.url, decode_responses=True)
            store = CommandStore(client)
            for n in sizes:
                client.flushall()
                base = client.info("memory")["used_memory"]
                t = time.perf_counter()
                due = populate(store, client, n)
                fill_s = time.perf_counter() - t
                per_cmd = (client.info("memory")["used_memory"] - base) / n
                row = {"commands": n, "due_devices": due, "bytes_per_command": round(per_cmd),
                       "find_batch_us": time_find_batch(client) * 1e6,
                       "find_all_us_per_device": time_find_all(client, store, due) * 1e6,
                       "fill_s": round(fill_s, 1)}
                if n <= 100_000 or a.naive_all:
                    row["naive_scan_ms"] = time_naive(client, due) * 1e3
                results.append(row)
                print(json.dumps(row))
        finally:
            server.stop()
    first, last = results[0], results[-1]
    batch_ratio = last["find_batch_us"] / first["find_batch_us"]
    all_ratio = last["find_all_us_per_device"] / first["find_all_us_per_device"]
    worst_mem = max(r["bytes_per_command"] for r in results)
    print(f"\nfind_batch {first['commands']:,} -> {last['commands']:,}: {batch_ratio:.2f}x "
          f"(target <= 2x): {'PASS' if batch_ratio <= 2 else 'FAIL'}")
    print(f"find_all per due device: {all_ratio:.2f}x (target <= 2x): "
          f"{'PASS' if all_ratio <= 2 else 'FAIL'}")
    print(f"memory per command: {worst_mem} B (target < 1024): "
          f"{'PASS' if worst_mem < 1024 else 'FAIL'}")
    for r in results:
        if "naive_scan_ms" in r:
            print(f"naive scan at {r['commands']:,}: {r['naive_scan_ms']:.0f} ms, "
                  f"{r['naive_scan_ms'] * 1000 / r['find_batch_us']:.0f}x the indexed query")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sweep.json").write_text(json.dumps(
        {"results": results, "find_batch_ratio": batch_ratio, "find_all_ratio": all_ratio,
         "max_bytes_per_command": worst_mem}, indent=2))


if __name__ == "__main__":
    main()

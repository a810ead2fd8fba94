"""bench/memory: Redis memory per command with a full life, created through the API and moved by
three callbacks, on a default-configured Redis (what a managed Redis gives) and on one with the
embedded Redis's compact-hash settings.

Real web and worker processes and the emulator: N commands are created with `POST
/api/v1/commands` on the Huawei emulator, then each gets SENT, DELIVERED and SUCCESSFUL
callbacks over HTTP, and the worker applies them. `used_memory` grows by the whole cost; the
breakdown reads `MEMORY USAGE` of every key, by family: the command records, their index
entries, the change feed (kept EVENTS_RETAIN_S, then trimmed), and the callbacks' dedupe marks
(gone after DEDUPE_TTL_S). The target (<= 600 B per command, default settings) is for what a
command keeps for its whole retention: records and indexes, without the feed, the marks and the
call budget's one-minute log (TRANSIENT).

    .venv/bin/python -m bench.memory                   # both settings, 2,000 commands each
    .venv/bin/python -m bench.memory --commands 5000 --settings default
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import redis
import requests

from bench.common import (
    BenchError,
    bench_env,
    machine,
    measure_guarded,
    start_bench_redis,
    write_results,
)
from dev.procs import free_port, start_gunicorn, start_redis, start_worker, wait_until
from emulator.testing import start_emulator

TARGET_B = 600
#: What does not stay with a command: the feed (trimmed after EVENTS_RETAIN_S), the dedupe marks
#: (DEDUPE_TTL_S), and the call budget's log of the last window's calls, which holds one entry
#: per create only because this benchmark makes thousands in under a minute.
TRANSIENT = ("change feed", "dedupe marks", "call budget log")
STATUSES = ("SENT", "DELIVERED", "SUCCESSFUL")


def family(key: str) -> str:
    """Which part of the store a key belongs to (for the breakdown)."""
    if ":cmd:" in key:
        return "records"
    if ":seen:" in key:
        return "dedupe marks"
    if key.startswith("ck:events"):
        return "change feed"
    if key.startswith("ck:c2d:"):
        return "command index"
    if key.startswith("ck:{"):
        return "device indexes"
    if key.startswith("ck:stats:") or key.startswith("ck:due:"):
        return "fleet indexes"
    if key.startswith("ck:rate:"):
        return "call budget log"
    if key.startswith("ck:metrics"):
        return "metrics"
    return "other"


def breakdown(client: redis.Redis) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    batch: list[str] = []

    def flush() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(batch, pipe.execute(), strict=True):
            sizes[family(key)] += size or 0
        batch.clear()

    for key in client.scan_iter(count=1000):
        batch.append(key)
        if len(batch) >= 500:
            flush()
    if batch:
        flush()
    return dict(sizes)


def measure(settings: str, n: int, workdir: Path) -> dict:
    from store import connection, keys

    with ExitStack() as stack:
        server = (start_redis(workdir / "redis") if settings == "default"
                  else start_bench_redis(workdir / "redis"))
        stack.callback(server.stop)
        client = connection.client(server.url)
        emu = start_emulator(seed=3, speed=0, start_ms=None, faults={"huawei_rate_limit": 0},
                             log=workdir / "emulator.log")
        stack.callback(emu.stop)
        port = free_port()
        env = bench_env(server.url, workdir / "var", LOG_LEVEL="WARNING",
                        PUBLIC_URL="http://127.0.0.1:9", HUAWEI_BASE_URL=emu.url,
                        HUAWEI_APP_ID="demo-app", HUAWEI_SECRET="demo-secret",
                        HUAWEI_RATE_PER_MIN="1000000", STALE_AFTER_S="3600")
        web = start_gunicorn("app:create_app()", env, port=port, log=workdir / "web.log")
        stack.callback(web.stop)
        worker = start_worker(env, threads=8, log=workdir / "worker.log")
        stack.callback(worker.stop)
        devices = [f"mem-{i:05d}" for i in range(max(1, n // 4))]
        for d in devices:
            emu.client.add_device("huawei", d, wake_period_s=0)
        wait_until(lambda: client.zcard("dramatiq:__heartbeats__") > 0, 30, "the worker is up")
        auth = {"Authorization": f"Bearer {env['CMDKEEPER_API_TOKEN']}"}
        base = client.info("memory")["used_memory"]
        before = breakdown(client)
        http = requests.Session()

        def create(i: int) -> str:
            r = http.post(f"{web.url}/api/v1/commands", headers=auth, timeout=30, json={
                "platform": "huawei", "device_id": devices[i % len(devices)],
                "service_id": "Valve", "method": "SET", "paras": {"open": 1, "level": i % 100}})
            if r.status_code != 201:
                raise BenchError(f"create failed: {r.status_code} {r.text}")
            return r.json()["command_id"]

        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(create, range(n)))
        hook = f"{web.url}/webhooks/huawei/{env['CMDKEEPER_WEBHOOK_TOKEN']}"

        def callbacks(i: int) -> None:
            for status in STATUSES:
                body = {"deviceId": devices[i % len(devices)], "commandId": ids[i],
                        "result": {"resultCode": status, "resultDetail": None}}
                if http.post(hook, json=body, timeout=30).status_code != 200:
                    raise BenchError("a callback was refused")

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(callbacks, range(n)))
        queue = keys.dramatiq_queue(keys.DRAMATIQ_NAMESPACE, keys.WORK_QUEUE)
        wait_until(lambda: client.llen(queue) == 0 and int(client.hget(
            keys.command_states("huawei"), "SUCCEEDED") or 0) >= n, 300,
            "every callback applied", interval_s=0.2)
        total = client.info("memory")["used_memory"] - base
        after = breakdown(client)
        grown = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
        kept = sum(v for k, v in grown.items() if k not in TRANSIENT)
        info = client.config_get("hash-max-*")
        return {
            "settings": settings, "hash_settings": info, "commands": n,
            "used_memory_per_command_b": round(total / n),
            "per_command_by_family_b": {k: round(v / n) for k, v in sorted(grown.items())},
            "kept_per_command_b": round(kept / n),
            "verdict": "PASS" if kept / n <= TARGET_B else "FAIL",
            "machine": machine(client),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--settings", choices=("default", "compact", "both"), default="both")
    args = parser.parse_args(argv)
    wanted = ("default", "compact") if args.settings == "both" else (args.settings,)

    def measure_all() -> dict:
        results = {}
        for settings in wanted:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.monotonic()
                results[settings] = measure(settings, args.commands, Path(tmp))
                results[settings]["seconds"] = round(time.monotonic() - started, 1)
        return results

    results = measure_guarded("memory", measure_all)
    if results is None:
        return 1
    path = write_results("memory", {"benchmark": "memory", "target_b": TARGET_B, **results})
    for settings, r in results.items():
        parts = ", ".join(f"{k} {v}" for k, v in r["per_command_by_family_b"].items())
        print(f"{settings} hash settings: {r['used_memory_per_command_b']} B per command in all "
              f"({parts}); kept for the retention period: {r['kept_per_command_b']} B "
              f"(target <= {TARGET_B} B: {r['verdict']})")
    print(f"({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

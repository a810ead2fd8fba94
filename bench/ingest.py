"""Webhook ingest: requests/s and p99 latency of `POST /webhooks/huawei/<token>` under gunicorn.

In one run, under the same gunicorn settings (gunicorn.conf.py, same workers and threads) and on
the same Redis, wrk drives three targets with the same request generator (bench/callbacks.lua,
a unique commandId per request):

- `ours`:  the app's Huawei webhook (validate, then dedupe + enqueue in one Lua call);
- `naive`: bench/baseline_app.py's `/naive`: parse the JSON, `apply_event.send(...)`;
- `bare`:  bench/baseline_app.py's `/bare`: parse the JSON, answer 200.

After a short warm-up, rounds interleave the targets (the order rotates each round, against
machine drift); the report gives each target's median req/s and p99 and the ratios. Targets:
ours >= 1.0 x naive and >= 0.6 x bare. Sanity: every `accepted` answer left exactly one message
on the queue.

gunicorn runs with `--reuse-port` (each worker its own listening socket, and the kernel spreads
new connections over them): with one shared socket, the worker that wakes first often accepts all
of wrk's keep-alive connections and keeps them for the whole run, which halves the throughput of
that run whatever the app does. Each run starts once other processes leave the CPU
(within a waiting budget), and is repeated (within a retry budget) when it was disturbed all the
same: the workers' CPU lopsided, or other processes on the machine taking CPU.

Run: `.venv/bin/python -m bench.ingest` (2-3 minutes). Results: bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import redis
import requests
from dramatiq import Message

from bench import ingest_report
from bench.common import (
    REDIS_SETTINGS,
    STOP_TIMEOUT_S,
    BenchError,
    add_disturbance_options,
    bench_env,
    configure_broker,
    exit_on_sigterm,
    machine,
    reap_children,
    start_bench_redis,
    tail,
    write_results,
)
from bench.cpu import CpuWindow, process_cpu_s, tree_cpu_s, wait_for_quiet
from bench.wrk import WrkSettings, ensure_wrk, run_wrk
from dev.procs import ProcessError, start_gunicorn, wait_until
from store import keys

#: Targets in the order of the first round; later rounds rotate it.
TARGETS = ingest_report.TARGETS

#: A run is balanced when the least busy gunicorn worker used at least this share of the busiest
#: one's CPU: wrk's keep-alive connections stay on the worker that accepted them, and now and
#: then one worker gets nearly all of them, which halves throughput whatever the app does.
BALANCE_MIN = 0.7

#: A run is quiet when processes we did not start used at most this share of the machine's CPU.
FOREIGN_MAX = 0.05

#: After wrk stops, the queue length must hold still this long to count as settled, in seconds.
SETTLE_S = 0.3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration-s", type=int, default=10, help="wrk run per target and round")
    p.add_argument("--warmup-s", type=int, default=3, help="wrk warm-up per target")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--web-concurrency", type=int, default=2, help="gunicorn workers")
    p.add_argument("--web-threads", type=int, default=4, help="gunicorn threads per worker")
    p.add_argument("--no-reuse-port", dest="reuse_port", action="store_false",
                   help="serve without gunicorn's --reuse-port (one shared listening socket)")
    add_disturbance_options(p, retries=3, unit="run")
    return p.parse_args(argv)


class Bench:
    """The three targets on one Redis, and how to measure one wrk run against each."""

    def __init__(self, args: argparse.Namespace, wrk: str, tmp: Path, stack: ExitStack) -> None:
        self.args, self.wrk, self.retries_left = args, wrk, args.retries
        self.quiet_wait_left_s = args.quiet_wait_s
        self.load = WrkSettings(args.threads, args.connections)
        self.redis_server = start_bench_redis(tmp / "redis")
        stack.callback(self.redis_server.stop, STOP_TIMEOUT_S)
        self.client = redis.Redis.from_url(self.redis_server.url)
        configure_broker(self.redis_server.url)
        from workers import actors, broker

        self.queue = keys.dramatiq_queue(broker.NAMESPACE, actors.QUEUE)
        self.queue_msgs = keys.dramatiq_queue_messages(broker.NAMESPACE, actors.QUEUE)
        env = bench_env(self.redis_server.url, tmp / "var",
                        WEB_CONCURRENCY=str(args.web_concurrency),
                        WEB_THREADS=str(args.web_threads))
        token = env["CMDKEEPER_WEBHOOK_TOKEN"]
        extra = ["--reuse-port"] if args.reuse_port else []
        ours = start_gunicorn("app:create_app()", env, args=extra, log=tmp / "web-ours.log")
        stack.callback(ours.stop, STOP_TIMEOUT_S)
        base = start_gunicorn("bench.baseline_app:create_app()", env, args=extra,
                              log=tmp / "web-baseline.log")
        stack.callback(base.stop, STOP_TIMEOUT_S)
        self.urls = {"ours": f"{ours.url}/webhooks/huawei/{token}",
                     "naive": f"{base.url}/naive/{token}", "bare": f"{base.url}/bare/{token}"}
        self.web_pid = {"ours": ours.proc.pid, "naive": base.proc.pid, "bare": base.proc.pid}

    def smoke(self) -> None:
        """One request per target: each answers 200 `accepted`; enqueuing targets enqueue one."""
        for name, url in self.urls.items():
            body = {"deviceId": "dev-smoke", "commandId": f"smoke-{name}",
                    "result": {"resultCode": "SENT", "resultDetail": None}}
            r = requests.post(url, json=body, timeout=10)
            if r.status_code != 200 or r.json().get("status") != "accepted":
                raise BenchError(f"{name}: smoke request answered {r.status_code} {r.text[:200]}")
            if name != "bare" and self.settled_queue_length() != 1:
                raise BenchError(f"{name}: the smoke request did not enqueue one message")
            self.clear_queue()

    def settled_queue_length(self) -> int:
        """The queue's length once it stops growing (gunicorn finishes requests wrk gave up on)."""
        seen = {"n": -1, "since": time.monotonic()}

        def still() -> bool:
            n = self.client.llen(self.queue)
            if n != seen["n"]:
                seen["n"], seen["since"] = n, time.monotonic()
            return time.monotonic() - seen["since"] >= SETTLE_S

        wait_until(still, 15, "queue length settled", interval_s=0.05)
        return seen["n"]

    def clear_queue(self) -> None:
        self.client.unlink(self.queue, self.queue_msgs)

    def run(self, name: str, duration_s: int, prefix: str) -> dict[str, Any]:
        """One wrk run, repeated while disturbed and the retry budget lasts; the least disturbed
        attempt is kept, the others are returned under `discarded`."""
        attempts = [self.run_once(name, duration_s, f"{prefix}a0")]
        while not attempts[-1]["clean"] and self.retries_left > 0:
            self.retries_left -= 1
            attempts.append(self.run_once(name, duration_s, f"{prefix}a{len(attempts)}"))
        best = max(attempts, key=lambda s: (s["clean"], s["balanced"], -s["foreign_share"]))
        best["attempts"] = len(attempts)
        best["discarded"] = [a for a in attempts if a is not best]
        return best

    def run_once(self, name: str, duration_s: int, prefix: str) -> dict[str, Any]:
        self.quiet_wait_left_s -= wait_for_quiet(max(self.quiet_wait_left_s, 0), FOREIGN_MAX)
        workers = psutil.Process(self.web_pid[name]).children()
        redis_pid = self.redis_server.proc.pid
        web0, redis0 = [process_cpu_s(p) for p in workers], tree_cpu_s(redis_pid)
        window = CpuWindow()
        stats = run_wrk(self.wrk, self.urls[name], self.load, duration_s, prefix)
        stats["enqueued"] = self.settled_queue_length() if name != "bare" else 0
        cpu = window.stop()
        web1, redis1 = [process_cpu_s(p) for p in workers], tree_cpu_s(redis_pid)
        per_worker = [b - a for a, b in zip(web0, web1, strict=True)]
        n = max(stats["requests"], 1)
        stats.update(
            worker_cpu_s=[round(c, 2) for c in per_worker],
            worker_balance=min(per_worker) / max(max(per_worker), 1e-9),
            foreign_share=cpu.foreign_share, steal_share=cpu.steal_share,
            web_cpu_us_per_req=sum(per_worker) * 1e6 / n,
            redis_cpu_us_per_req=(redis1 - redis0) * 1e6 / n,
        )
        stats["balanced"] = stats["worker_balance"] >= BALANCE_MIN
        stats["quiet"] = cpu.foreign_share + cpu.steal_share <= FOREIGN_MAX
        stats["clean"] = stats["balanced"] and stats["quiet"]
        if name == "ours" and stats["enqueued"]:
            self.check_message(prefix)
        self.clear_queue()
        return stats

    def check_message(self, prefix: str) -> None:
        """The webhook's queued messages are what dramatiq's worker expects for apply_event."""
        message_id = self.client.lindex(self.queue, -1)
        message = Message.decode(self.client.hget(self.queue_msgs, message_id))
        event = message.kwargs["event"]
        if message.actor_name != "apply_event" or not event["command_id"].startswith(prefix):
            raise BenchError(f"unexpected message on the queue: {message!r}")


def measure(args: argparse.Namespace, wrk: str, tmp: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        bench = Bench(args, wrk, tmp, stack)
        measured_on = machine(bench.client)
        bench.smoke()
        print(f"warm-up: {args.warmup_s}s per target", flush=True)
        for name in TARGETS:
            bench.run_once(name, args.warmup_s, f"warm-{name}")
        rounds, problems = [], []
        for i in range(args.rounds):
            order = TARGETS[i % len(TARGETS):] + TARGETS[:i % len(TARGETS)]
            results = {}
            for name in order:
                results[name] = s = bench.run(name, args.duration_s, f"r{i}-{name}")
                for run in (s, *s["discarded"]):
                    problems += [f"round {i + 1} {name}: {p}"
                                 for p in ingest_report.sanity(name, run)]
                print(f"round {i + 1}/{args.rounds} " + ingest_report.run_line(name, s),
                      flush=True)
            rounds.append(results)
        return {"machine": measured_on, "rounds": rounds, "problems": problems}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    wrk = ensure_wrk()
    settings = {
        "wrk": {"threads": args.threads, "connections": args.connections, "timeout_s": 5},
        "gunicorn": {"config": "gunicorn.conf.py", "worker_class": "gthread",
                     "workers": args.web_concurrency, "threads": args.web_threads,
                     "reuse_port": args.reuse_port},
        "rounds": args.rounds, "duration_s": args.duration_s, "warmup_s": args.warmup_s,
        "retries": args.retries, "quiet_wait_s": args.quiet_wait_s,
        "balance_min": BALANCE_MIN, "foreign_max": FOREIGN_MAX,
        "redis": REDIS_SETTINGS,
    }
    print(f"bench.ingest: {settings}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cmdkeeper-bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            run = measure(args, wrk, tmp)
        except (BenchError, ProcessError, redis.RedisError, requests.RequestException) as e:
            for log in ("web-ours.log", "web-baseline.log"):
                print(f"--- {log} (last lines)\n{tail(tmp / log)}", file=sys.stderr)
            print(f"bench.ingest: ERROR: {e}", file=sys.stderr)
            return 2
        finally:
            reap_children()
    summary = ingest_report.summarize(run["rounds"])
    print(ingest_report.report(summary, run["problems"]))
    passed = ingest_report.passed(summary)
    path = write_results("ingest", {
        "benchmark": "ingest", "machine": run["machine"], "settings": settings,
        "target": {"ours_vs_naive_min": ingest_report.TARGET_VS_NAIVE,
                   "ours_vs_bare_min": ingest_report.TARGET_VS_BARE, "passed": passed},
        "summary": summary, "sanity_problems": run["problems"], "rounds": run["rounds"],
    })
    print(f"results: {path}")
    return 0 if passed and not run["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())

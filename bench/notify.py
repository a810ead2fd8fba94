"""bench/notify: events delivered per second by one worker process to a local receiver that
answers 200, against a plain loop of `requests.post` with the same bodies, in the same run.

Phase 1 (throughput): the feed holds N events; one worker process delivers them to one
subscription while the clock process is not running (the first job is sent by hand; a run
sends itself again while events wait). The baseline posts the same bodies (signed the same way)
to the same receiver in a plain loop: `requests.post` (a new connection each time, as the issue
asks), and also a kept-alive `requests.Session` for a stricter comparison. Target: ours /
`requests.post` >= 0.7.

Phase 2 (lag): web-less, the store creates commands at a steady rate while the worker and the
clock run; the receiver notes when each event arrives, and the lag from the change being
applied (its id's time) to the subscriber's 2xx is reported as p50/p99.

    .venv/bin/python -m bench.notify              # about a minute
    .venv/bin/python -m bench.notify --events 5000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from bench.common import (
    BenchError,
    bench_env,
    configure_broker,
    machine,
    measure_guarded,
    start_bench_redis,
    verdict,
    write_results,
)
from dev.procs import start_python, start_worker, wait_until

TARGET = 0.7


class Receiver:
    """A local HTTP receiver answering 200 at once; notes when each `webhook-id` arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.arrived.setdefault(self.headers.get("webhook-id", ""), time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def fill(store, count: int, prefix: str, now_ms: int) -> None:
    from store.commands import NewCommand

    pipe = store.client.pipeline(transaction=False)
    for i in range(count):
        store.create_command(NewCommand(
            platform="huawei", device_id=f"dev-{i % 200}", command_id=f"{prefix}{i:06d}",
            service_id="Valve", method="SET", paras={"open": 1}, created_ms=now_ms,
            stale_at_ms=now_ms + 3_600_000), pipe=pipe)
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()


def baseline(receiver: Receiver, client, secret: str, count: int) -> dict[str, float]:
    """The same bodies and headers, posted in a plain loop (no store, no worker)."""
    from notify import messages
    from store import feed

    events = feed.read(client, None, count)
    now = int(time.time() * 1000)
    prepared = [(messages.body(e), e.id) for e in events]
    prepared = [(data, messages.headers(i, data, [secret], now)) for data, i in prepared]
    out = {}
    for name, post in (("requests.post", requests.post),
                       ("session.post", requests.Session().post)):
        started = time.perf_counter()
        for data, headers in prepared:
            answer = post(receiver.url, data=data.encode(), headers=headers, timeout=10)
            if answer.status_code != 200:
                raise BenchError("the receiver did not answer 200")
        out[name] = len(prepared) / (time.perf_counter() - started)
    return out


def run(args: argparse.Namespace) -> dict:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        redis_server = start_bench_redis(Path(tmp) / "redis")
        stack.callback(redis_server.stop)
        configure_broker(redis_server.url)
        from store import connection, keys
        from store.commands import CommandStore
        from store.subscriptions import SubscriptionStore
        from workers import actors

        client = connection.client(redis_server.url)
        store = CommandStore(client)
        subs = SubscriptionStore(client)
        receiver = Receiver()
        stack.callback(receiver.stop)
        env = bench_env(redis_server.url, Path(tmp) / "var", LOG_LEVEL="WARNING",
                        SWEEP_INTERVAL_S="1", STALE_AFTER_S="3600")

        # phase 1: throughput, the feed filled beforehand
        sub, secret = subs.create(receiver.url, int(time.time() * 1000), local=True)
        fill(store, args.events, "t", int(time.time() * 1000))
        rates = baseline(receiver, client, secret, args.events)
        receiver.arrived.clear()
        worker = start_worker(env, threads=args.threads, log=Path(tmp) / "worker.log")
        stack.callback(worker.stop)
        wait_until(lambda: client.zcard("dramatiq:__heartbeats__") > 0, 30, "the worker is up")
        started = time.perf_counter()
        actors.deliver_events.send(sub.id)
        wait_until(lambda: int(client.hget(keys.subscription(sub.id), "cursor_n") or 0)
                   >= args.events, 600, "every event delivered", interval_s=0.02)
        ours = args.events / (time.perf_counter() - started)
        if len(receiver.arrived) < args.events:
            raise BenchError(f"only {len(receiver.arrived)} of {args.events} events arrived")

        # phase 2: lag at a steady rate, the clock starting deliveries
        subs.delete(sub.id)
        lag_sub, _ = subs.create(receiver.url, int(time.time() * 1000), local=True)
        receiver.arrived.clear()
        clock_proc = start_python("workers.clock", env, log=Path(tmp) / "clock.log")
        stack.callback(clock_proc.stop)
        gap_s = 1 / args.rate
        for i in range(args.lag_events):
            fill(store, 1, f"l{i:06d}-", int(time.time() * 1000))
            time.sleep(gap_s)  # the arrival rate itself, not a wait for a condition
        wait_until(lambda: len(receiver.arrived) >= args.lag_events, 60, "the lag events arrived")
        from store import feed

        events = feed.read(client, lag_sub.cursor, args.lag_events)
        lags = sorted(receiver.arrived[e.id] * 1000 - e.applied_ms for e in events)
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        return {
            "benchmark": "notify", "machine": machine(client), "events": args.events,
            "worker_threads": args.threads,
            "delivered_per_s": round(ours, 1),
            "baseline_per_s": {k: round(v, 1) for k, v in rates.items()},
            "ratio_vs_requests_post": round(ours / rates["requests.post"], 3),
            "ratio_vs_session_post": round(ours / rates["session.post"], 3),
            "target": TARGET,
            "verdict": verdict(ours / rates["requests.post"], TARGET),
            "lag_ms": {"rate_per_s": args.rate, "events": len(lags),
                       "p50": round(statistics.median(lags), 1), "p99": round(p99, 1)},
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--lag-events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50, help="events per second in phase 2")
    args = parser.parse_args(argv)
    results = measure_guarded("notify", lambda: run(args))
    if results is None:
        return 1
    path = write_results("notify", results)
    print(f"delivered {results['delivered_per_s']}/s; requests.post loop "
          f"{results['baseline_per_s']['requests.post']}/s "
          f"(ratio {results['ratio_vs_requests_post']}, target >= {TARGET}: "
          f"{results['verdict']}); kept-alive session loop "
          f"{results['baseline_per_s']['session.post']}/s (ratio "
          f"{results['ratio_vs_session_post']})")
    print(f"state change -> 2xx at {args.rate}/s: p50 {results['lag_ms']['p50']} ms, "
          f"p99 {results['lag_ms']['p99']} ms  ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Webhook ingest, CPU per request in one thread: the three targets of `bench.ingest`, called as
WSGI apps in this process, without gunicorn, wrk or a second thread.

`bench.ingest` is the figure that counts (req/s under gunicorn, on a shared machine); this one
takes seconds and hardly moves with other load, so it is what to watch while changing the hot
path: µs of this process's CPU per request for `bare`, `naive` and `ours` (each on the same
Redis, each request a new commandId as wrk's script makes them), and with `--profile` a
cProfile of `ours`, busiest functions first.

Run: `.venv/bin/python -m bench.ingest_cpu [--requests 5000] [--profile]`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import STOP_TIMEOUT_S, bench_env, configure_broker, start_bench_redis

#: Runs per target; the figure is the best (least disturbed) one.
RUNS = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.ingest_cpu",
                                description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=5000, help="requests per run and target")
    p.add_argument("--profile", action="store_true", help="cProfile `ours` after measuring")
    return p.parse_args(argv)


def _caller(app: Callable, path: str, prefix: str) -> Callable[[int], None]:
    """A function that sends request `n` to `app` as gunicorn would hand it over."""

    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise RuntimeError(f"{path}: answered {status}")

    def call(n: int) -> None:
        body = (b'{"deviceId":"dev-1-%d","commandId":"%s-1-%d",'
                b'"result":{"resultCode":"SENT","resultDetail":null}}'
                % (n % 500, prefix.encode(), n))
        environ = {
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:5000",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        b"".join(app(environ, start_response))

    return call


def _cpu_us_per_request(call: Callable[[int], None], n: int, run: int) -> float:
    base = run * n
    for i in range(200):  # warm: connections, scripts, caches
        call(base + i)
    t0 = time.process_time()
    for i in range(200, n + 200):
        call(base + i)
    return (time.process_time() - t0) * 1e6 / n


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cmdkeeper-bench-ingest-cpu-") as tmp_name:
        tmp = Path(tmp_name)
        server = start_bench_redis(tmp / "redis")
        try:
            env = bench_env(server.url, tmp / "var", LOG_LEVEL="WARNING")
            os.environ.update(env)
            configure_broker(server.url)
            import app as web
            from bench import baseline_app

            token = env["CMDKEEPER_WEBHOOK_TOKEN"]
            ours, base = web.create_app(), baseline_app.create_app()
            targets = {"bare": (base, f"/bare/{token}"), "naive": (base, f"/naive/{token}"),
                       "ours": (ours, f"/webhooks/huawei/{token}")}
            figures: dict[str, list[float]] = {name: [] for name in targets}
            for run in range(RUNS):
                for name, (wsgi, path) in targets.items():
                    call = _caller(wsgi, path, f"r{run}-{name}")
                    figures[name].append(_cpu_us_per_request(call, args.requests, run))
            best = {name: min(values) for name, values in figures.items()}
            for name, values in figures.items():
                print(f"{name:<5} {best[name]:7.1f} µs/request (best of {RUNS}; runs "
                      f"{', '.join(f'{v:.0f}' for v in values)})")
            print(f"ours/naive CPU {best['ours'] / best['naive']:.3f}, "
                  f"ours/bare CPU {best['ours'] / best['bare']:.3f}")
            if args.profile:
                call = _caller(ours, targets["ours"][1], "profile")
                profile = cProfile.Profile()
                profile.runcall(lambda: [call(i) for i in range(args.requests)])
                pstats.Stats(profile).sort_stats("tottime").print_stats(40)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(60)
        finally:
            server.stop(STOP_TIMEOUT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())

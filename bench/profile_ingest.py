"""Where a web worker's CPU goes under `bench.ingest`'s load: py-spy on one gunicorn worker.

Starts the same Redis and gunicorns as `bench.ingest` (same settings, same wrk script), puts one
target under wrk load and samples one of its gunicorn workers with py-spy (`--gil`: only the
thread holding the GIL, i.e. where the CPU goes, not where threads wait). It prints the
functions with the most samples, inclusive and self, and writes the raw stacks (collapsed
format: speedscope and flamegraph.pl read it, and so does `grep`) under bench/results/.

Profiling is how the ingest path was tuned; run it again before changing the hot path.

Run: `.venv/bin/python -m bench.profile_ingest [--target ours|naive|bare] [--duration-s 15]`
(py-spy needs ptrace rights over the worker: root, or kernel.yama.ptrace_scope = 0).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import psutil

from bench import ingest
from bench.common import RESULTS_DIR, BenchError, exit_on_sigterm, reap_children
from bench.wrk import ensure_wrk, run_wrk

#: wrk starts this long before py-spy, so the profile sees a warm, loaded worker (seconds).
WARM_S = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.profile_ingest",
                                description=__doc__.split("\n")[0])
    p.add_argument("--target", choices=ingest.TARGETS, default="ours")
    p.add_argument("--duration-s", type=int, default=15, help="sampling time")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=45, help="functions listed")
    return p.parse_args(argv)


def _frame_name(frame: str) -> str:
    # py-spy's collapsed frames read `function (path/to/file.py:line)`: keep function and file
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "python3.11/", "wt-"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarize(collapsed: Path, top: int) -> str:
    """Inclusive and self shares of the sampled functions, busiest first."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_frame_name(f) for f in stack.split(";")[1:]]  # the first is the thread
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "inclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy is not installed (requirements-dev.txt)", file=sys.stderr)
        return 2
    wrk = ensure_wrk()
    bench_args = ingest.parse_args([])
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    raw = RESULTS_DIR / f"profile-{args.target}.txt"
    with tempfile.TemporaryDirectory(prefix="cmdkeeper-profile-ingest-") as tmp_name, \
            ExitStack() as stack:
        try:
            bench = ingest.Bench(bench_args, wrk, Path(tmp_name), stack)
            bench.smoke()
            worker = psutil.Process(bench.web_pid[args.target]).children()[0]
            load_s = args.duration_s + 2 * WARM_S
            load = threading.Thread(target=run_wrk, daemon=True, args=(
                wrk, bench.urls[args.target], bench.load, load_s, "profile"))
            load.start()
            time.sleep(WARM_S)
            cmd = [py_spy, "record", "--gil", "--rate", str(args.rate), "--duration",
                   str(args.duration_s), "--pid", str(worker.pid), "--format", "raw",
                   "--output", str(raw)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                  timeout=args.duration_s + 60)
            if done.returncode != 0:
                raise BenchError(f"py-spy failed: {done.stderr.strip()[-500:]}")
            load.join(timeout=load_s + 30)
        finally:
            reap_children()
    print(f"profile of one `{args.target}` gunicorn worker under wrk "
          f"({bench.load.threads} threads, {bench.load.connections} connections)")
    print(summarize(raw, args.top))
    print(f"raw stacks: {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Event apply: events applied per second by one worker process (`--processes 1 --threads 8`),
against a no-op actor in the same run.

The queue is pre-filled with N `apply_event` messages (bench/workload.py: realistic Huawei status
sequences over many commands, with re-pushes), written straight into dramatiq's queue keys in
batches. Then ONE worker (`dramatiq bench.apply_worker`, configured like workers/main.py, serving
both cmdkeeper's queue and the no-op queue) is started, and the rate is N over the time from the
first message taken off the queue to the last one acknowledged (Redis polled with deadlines).
The same N messages, addressed to a no-op actor (bench/noop.py), give the baseline. Rounds
alternate the two; medians are reported. Target: apply >= 0.7 x no-op.

Sanity after each apply run: no message retried or dead-lettered, and every command in Redis in
the state its events imply, with one timeline entry per distinct event.

Run: `.venv/bin/python -m bench.apply` (about two minutes). Results: bench/results/apply.json
(`apply-prefetch<N>.json` with `--prefetch N`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import redis

from bench.common import (
    REDIS_SETTINGS,
    STOP_TIMEOUT_S,
    BenchError,
    add_disturbance_options,
    bench_env,
    configure_broker,
    exit_on_sigterm,
    machine,
    median,
    reap_children,
    start_bench_redis,
    tail,
    verdict,
    write_results,
)
from bench.cpu import CpuWindow, tree_cpu_s, wait_for_quiet
from bench.workload import Workload, generate
from dev.procs import Managed, ProcessError, start_worker, wait_until
from store import connection, keys
from store.commands import CommandStore
from store.records import read_raw
from store.script_calls import Scripts

#: Events applied per second must reach this share of the no-op actor's rate.
TARGET_VS_NOOP = 0.7

#: Messages written to Redis per pipeline round trip when pre-filling the queue.
ENQUEUE_BATCH = 1_000

#: How long a worker may take to take its first message, and to drain the queue, in seconds.
START_TIMEOUT_S = 60
DRAIN_TIMEOUT_S = 300

#: A measurement is quiet when other processes used at most this share of the machine's CPU.
FOREIGN_MAX = 0.05

PHASES = ("noop", "apply")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.apply", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=20_000, help="messages per measurement")
    p.add_argument("--commands", type=int, default=6_000, help="commands they are about")
    p.add_argument("--devices", type=int, default=600, help="devices the commands are for")
    p.add_argument("--rounds", type=int, default=3, help="each round measures both actors")
    p.add_argument("--threads", type=int, default=8, help="worker threads (one process)")
    p.add_argument("--prefetch", type=int, default=0,
                   help="dramatiq_queue_prefetch for the worker (0: dramatiq's, 2 x threads)")
    add_disturbance_options(p, retries=2, unit="measurement")
    return p.parse_args(argv)


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path, stack: ExitStack) -> None:
        self.args, self.tmp, self.retries_left = args, tmp, args.retries
        self.quiet_wait_left_s = args.quiet_wait_s
        self.redis_server = start_bench_redis(tmp / "redis")
        stack.callback(self.redis_server.stop, STOP_TIMEOUT_S)
        self.client = redis.Redis.from_url(self.redis_server.url)
        self.text_client = redis.Redis.from_url(self.redis_server.url, decode_responses=True)
        configure_broker(self.redis_server.url)
        from bench import noop
        from workers import actors, broker, messages

        self.encoders = {"apply": messages.encode_apply_event, "noop": noop.encode_noop_event}
        self.queues = {"apply": actors.QUEUE, "noop": noop.QUEUE}
        self.namespace = broker.NAMESPACE
        self.env = bench_env(self.redis_server.url, tmp / "var")
        if args.prefetch:
            self.env["dramatiq_queue_prefetch"] = str(args.prefetch)
        self.store = CommandStore(connection.client(self.redis_server.url))
        self.workload: Workload = generate(args.events, args.commands, args.devices,
                                           base_ms=int(time.time() * 1000))

    def queue_keys(self, phase: str) -> tuple[str, str]:
        queue = self.queues[phase]
        return (keys.dramatiq_queue(self.namespace, queue),
                keys.dramatiq_queue_messages(self.namespace, queue))

    def prepare(self, phase: str) -> None:
        """An empty database; for `apply` the API-created commands; then the full queue."""
        self.client.flushdb()
        if phase == "apply":
            for new in self.workload.created:
                self.store.create_command(new)
        encode = self.encoders[phase]
        queue, queue_msgs = self.queue_keys(phase)
        events = self.workload.events
        for i in range(0, len(events), ENQUEUE_BATCH):
            encoded = [encode(e.to_message()) for e in events[i:i + ENQUEUE_BATCH]]
            with self.client.pipeline(transaction=False) as pipe:
                pipe.hset(queue_msgs, mapping=dict(encoded))
                pipe.rpush(queue, *(message_id for message_id, _ in encoded))
                pipe.execute()
        if self.client.llen(queue) != len(events):
            raise BenchError(f"{phase}: the queue holds {self.client.llen(queue)} messages")

    def measure(self, phase: str) -> dict[str, Any]:
        """Prepare, then time one worker draining the queue; repeated while disturbed."""
        attempts = [self.measure_once(phase)]
        while not attempts[-1]["quiet"] and self.retries_left > 0:
            self.retries_left -= 1
            attempts.append(self.measure_once(phase))
        best = min(attempts, key=lambda m: m["foreign_share"])
        best["discarded"] = [m for m in attempts if m is not best]
        return best

    def measure_once(self, phase: str) -> dict[str, Any]:
        self.prepare(phase)
        queue, queue_msgs = self.queue_keys(phase)
        total = len(self.workload.events)
        log = self.tmp / "worker.log"
        self.quiet_wait_left_s -= wait_for_quiet(max(self.quiet_wait_left_s, 0), FOREIGN_MAX)
        worker = start_worker(self.env, module="bench.apply_worker", processes=1,
                              threads=self.args.threads, log=log)
        try:
            wait_until(lambda: self.client.llen(queue) < total, START_TIMEOUT_S,
                       "worker took its first message", interval_s=0.002, proc=worker.proc)
            started = time.monotonic()
            window = CpuWindow()
            worker0, redis0 = self.cpu(worker)
            wait_until(lambda: self.client.hlen(queue_msgs) == 0, DRAIN_TIMEOUT_S,
                       "queue drained", interval_s=0.005, proc=worker.proc)
            elapsed = time.monotonic() - started
            worker1, redis1 = self.cpu(worker)
            cpu = window.stop()
        finally:
            worker.stop(STOP_TIMEOUT_S)
        result = {
            "events": total, "seconds": elapsed, "events_per_s": total / elapsed,
            "worker_cpu_us_per_event": (worker1 - worker0) * 1e6 / total,
            "redis_cpu_us_per_event": (redis1 - redis0) * 1e6 / total,
            "foreign_share": cpu.foreign_share + cpu.steal_share,
            "quiet": cpu.foreign_share + cpu.steal_share <= FOREIGN_MAX,
        }
        result["problems"] = self.check(phase)
        return result

    def cpu(self, worker: Managed) -> tuple[float, float]:
        return tree_cpu_s(worker.proc.pid), tree_cpu_s(self.redis_server.proc.pid)

    def check(self, phase: str) -> list[str]:
        """What went wrong in a run: retried or dead messages; for `apply`, wrong end states."""
        problems = []
        queue = self.queues[phase]
        for suffix in (".DQ", ".XQ"):
            n = self.client.hlen(keys.dramatiq_queue_messages(self.namespace, queue + suffix))
            if n:
                problems.append(f"{n} message(s) on {queue}{suffix} (retried or dead-lettered)")
        if phase == "apply":
            problems += self.check_states()
        return problems

    def check_states(self) -> list[str]:
        expected = self.workload.expected_state
        commands = sorted(expected)
        device_of = {e.command_id: e.device_id for e in self.workload.events}
        cmd_keys = [keys.command("huawei", device_of[cmd], cmd) for cmd in commands]
        rows = read_raw(Scripts(self.text_client), cmd_keys, fields=("state", "tl"))
        wrong_state, wrong_timeline = [], []
        for cmd, row in zip(commands, rows, strict=True):
            state, tl = row.get("state") or None, row.get("tl", "")
            if state is None or state != expected[cmd].value:
                wrong_state.append(f"{cmd}: {state!r}, expected {expected[cmd].value}")
            elif len(tl.split(";")) != self.workload.expected_timeline[cmd]:
                wrong_timeline.append(f"{cmd}: {len(tl.split(';'))} entries, expected "
                                      f"{self.workload.expected_timeline[cmd]}")
        problems = []
        if wrong_state:
            problems.append(f"{len(wrong_state)} command(s) in the wrong state: "
                            + "; ".join(wrong_state[:5]))
        if wrong_timeline:
            problems.append(f"{len(wrong_timeline)} timeline(s) of the wrong length: "
                            + "; ".join(wrong_timeline[:5]))
        return problems


def run_line(phase: str, m: dict[str, Any]) -> str:
    line = (f"{phase:<5}: {m['events_per_s']:6.0f} events/s ({m['events']} in {m['seconds']:.2f} s)"
            f", worker CPU {m['worker_cpu_us_per_event']:.0f} us/event, Redis CPU "
            f"{m['redis_cpu_us_per_event']:.0f} us/event, foreign CPU {m['foreign_share']:.0%}")
    if not m["quiet"]:
        line += " [DISTURBED, kept anyway: retry budget spent]"
    for d in m["discarded"]:
        line += (f"\n         discarded {d['events_per_s']:.0f} events/s "
                 f"(busy machine: foreign CPU {d['foreign_share']:.0%})")
    return line + "".join(f"\n         PROBLEM: {p}" for p in m["problems"])


def measure_all(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        bench = Bench(args, tmp, stack)
        measured_on = machine(bench.client)
        w = bench.workload
        print(f"workload: {len(w.events)} events, {args.commands} commands "
              f"({len(w.created)} created through the API), {args.devices} devices, "
              f"{w.repushes} re-pushes", flush=True)
        rounds = []
        for i in range(args.rounds):
            order = PHASES if i % 2 == 0 else PHASES[::-1]
            results = {}
            for phase in order:
                results[phase] = bench.measure(phase)
                print(f"round {i + 1}/{args.rounds} {run_line(phase, results[phase])}",
                      flush=True)
            rounds.append(results)
        return {"machine": measured_on, "rounds": rounds}


def summarize(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for phase in PHASES:
        runs = [r[phase] for r in rounds]
        out[phase] = {
            "events_per_s_median": median(m["events_per_s"] for m in runs),
            "events_per_s_rounds": [round(m["events_per_s"]) for m in runs],
            "worker_cpu_us_per_event_median": median(m["worker_cpu_us_per_event"] for m in runs),
            "redis_cpu_us_per_event_median": median(m["redis_cpu_us_per_event"] for m in runs),
            "disturbed_runs_kept": sum(not m["quiet"] for m in runs),
        }
    out["ratio_apply_vs_noop"] = (out["apply"]["events_per_s_median"]
                                  / out["noop"]["events_per_s_median"])
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    settings = {"events": args.events, "commands": args.commands, "devices": args.devices,
                "rounds": args.rounds, "worker": {"processes": 1, "threads": args.threads,
                           "prefetch": args.prefetch or 2 * args.threads},
                "retries": args.retries, "quiet_wait_s": args.quiet_wait_s,
                "foreign_max": FOREIGN_MAX,
                "redis": REDIS_SETTINGS}
    print(f"bench.apply: {settings}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cmdkeeper-bench-apply-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            run = measure_all(args, tmp)
        except (BenchError, ProcessError, redis.RedisError, ValueError) as e:
            print(f"--- worker.log (last lines)\n{tail(tmp / 'worker.log')}", file=sys.stderr)
            print(f"bench.apply: ERROR: {e}", file=sys.stderr)
            return 2
        finally:
            reap_children()
    s = summarize(run["rounds"])
    problems = [p for r in run["rounds"] for m in r.values() for p in m["problems"]]
    ratio = s["ratio_apply_vs_noop"]
    print(f"noop : {s['noop']['events_per_s_median']:6.0f} events/s (median of "
          f"{s['noop']['events_per_s_rounds']})")
    print(f"apply: {s['apply']['events_per_s_median']:6.0f} events/s (median of "
          f"{s['apply']['events_per_s_rounds']})")
    print(f"apply/noop = {ratio:.3f}; sanity: "
          + ("OK (no retries, every end state and timeline as expected)" if not problems
             else "FAILED: " + "; ".join(problems)))
    print(f"{verdict(ratio, TARGET_VS_NOOP)}: apply/noop {ratio:.3f} against the target "
          f"{TARGET_VS_NOOP}")
    name = f"apply-prefetch{args.prefetch}" if args.prefetch else "apply"
    path = write_results(name, {
        "benchmark": "apply", "machine": run["machine"], "settings": settings,
        "target": {"apply_vs_noop_min": TARGET_VS_NOOP, "passed": ratio >= TARGET_VS_NOOP},
        "summary": s, "sanity_problems": problems, "rounds": run["rounds"],
    })
    print(f"results: {path}")
    return 0 if ratio >= TARGET_VS_NOOP and not problems else 1


if __name__ == "__main__":
    sys.exit(main())

"""bench/soak: commands flow through their whole life for several retention periods; Redis memory
must stay bounded (at the end <= 1.1x the memory after the first period).

Time is simulated (the same scripts as in production, given the time as an argument), so many
retention periods pass in seconds: every simulated second `--rate` commands are created (as the
API records them), move SENT -> DELIVERED -> a final state by callbacks (some FAILED, some
TIMEOUT, some revoked), a subscriber takes every event (workers/notify.py's cursor and delivery
notes, without the HTTP), and the clock's retention (workers/housekeeping.py) runs every
`--sweep-s`. Memory is Redis's `used_memory`, read at the end of the first period and at the end.

    .venv/bin/python -m bench.soak                 # 5 periods of 600 s, about a minute
    .venv/bin/python -m bench.soak --default-redis # on a Redis with default hash settings
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.common import BenchError, machine, measure_guarded, start_bench_redis, write_results
from dev.procs import start_redis

TARGET = 1.1
#: A command's life after its creation, simulated seconds: SENT, DELIVERED, final.
LIFE_S = (2, 4, 6)


def run(args: argparse.Namespace) -> dict:
    from cmdkeeper.config import Config
    from store import connection, feed
    from store.commands import CommandStore, NewCommand
    from store.model import Event, Source, State
    from store.script_calls import Scripts
    from store.subscriptions import SubscriptionStore
    from workers import housekeeping

    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        server = (start_redis(Path(tmp) / "redis") if args.default_redis
                  else start_bench_redis(Path(tmp) / "redis"))
        stack.callback(server.stop)
        client = connection.client(server.url)
        store, scripts, subs = CommandStore(client), Scripts(client), SubscriptionStore(client)
        config = Config(retain_final_s=args.period_s, events_retain_s=args.events_retain_s)
        rand = random.Random(7)
        t0 = 1_800_000_000_000
        sub, _ = subs.create("https://receiver.example/hook", t0)
        samples: dict[str, int] = {}
        created = 0
        finals = (State.SUCCEEDED,) * 7 + (State.FAILED, State.TIMEOUT, State.CANCELED)
        born: dict[int, list[tuple[str, str]]] = {}  # second -> (command, device) created then
        for second in range(args.periods * args.period_s + 1):
            now = t0 + second * 1000
            pipe = client.pipeline(transaction=False)
            born[second] = []
            for i in range(args.rate):
                command_id, device = f"c{created + i:08d}", f"dev-{rand.randrange(args.devices)}"
                born[second].append((command_id, device))
                store.create_command(NewCommand(
                    platform="huawei", device_id=device, command_id=command_id,
                    service_id="Valve", method="SET", paras={"open": 1}, created_ms=now,
                    stale_at_ms=now + 3_600_000), pipe=pipe)
            pipe.execute()
            created += args.rate
            pipe = client.pipeline(transaction=False)
            for age, state in ((LIFE_S[0], State.SENT), (LIFE_S[1], State.DELIVERED),
                               (LIFE_S[2], None)):
                for command_id, device in born.get(second - age, []):
                    final = state or rand.choice(finals)
                    source = Source.REVOKE if final is State.CANCELED else Source.CALLBACK
                    store.apply_event(Event("huawei", device, command_id, final, final.value,
                                            now, source), now, pipe=pipe)
            pipe.execute()
            born.pop(second - LIFE_S[2], None)
            _deliver(subs, sub, client, now, feed, config)
            if second % args.sweep_s == 0:
                housekeeping.sweep(client, scripts, config, now)
            if second == args.period_s:
                samples["after_first_period"] = _memory(client)
        samples["at_end"] = _memory(client)
        ratio = samples["at_end"] / samples["after_first_period"]
        return {
            "benchmark": "soak", "machine": machine(client),
            "redis": "default settings" if args.default_redis else "compact hashes",
            "periods": args.periods, "retain_final_s": args.period_s,
            "events_retain_s": args.events_retain_s, "commands_per_s": args.rate,
            "commands_created": created, "memory_bytes": samples,
            "ratio_end_to_first_period": round(ratio, 3), "target": TARGET,
            "verdict": "PASS" if ratio <= TARGET else "FAIL",
        }


def _deliver(subs, sub, client, now, feed, config) -> None:
    """The subscriber takes every new event (the worker's bookkeeping, without HTTP)."""
    current = subs.get(sub.id)
    cursor = current.cursor
    for event in feed.read(client, cursor, 10_000):
        if not subs.delivered(current, cursor, event, now,
                              retain_ms=config.events_retain_s * 1000):
            raise BenchError("the subscription's cursor moved under the soak")
        cursor = event.id


def _memory(client) -> int:
    return int(client.info("memory")["used_memory"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--periods", type=int, default=5)
    parser.add_argument("--period-s", type=int, default=600, help="RETAIN_FINAL_S, simulated")
    parser.add_argument("--events-retain-s", type=int, default=300)
    parser.add_argument("--rate", type=int, default=10, help="commands per simulated second")
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--sweep-s", type=int, default=10)
    parser.add_argument("--default-redis", action="store_true",
                        help="a Redis with default hash settings (a managed Redis)")
    args = parser.parse_args(argv)
    results = measure_guarded("soak", lambda: run(args))
    if results is None:
        return 1
    path = write_results("soak-default" if args.default_redis else "soak", results)
    mem = results["memory_bytes"]
    print(f"{results['commands_created']} commands over {args.periods} periods of "
          f"{args.period_s} s ({results['redis']}): memory after the first period "
          f"{mem['after_first_period'] / 1e6:.2f} MB, at the end {mem['at_end'] / 1e6:.2f} MB: "
          f"ratio {results['ratio_end_to_first_period']} (target <= {TARGET}: "
          f"{results['verdict']})  ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

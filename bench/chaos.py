"""bench/chaos: cmdkeeper under faults, as real processes, checked against the platform's truth.

web (gunicorn), two workers, the clock and the emulator run as real processes on a real Redis
(AOF on). Devices of both platforms sleep and wake on an accelerated clock; commands are created
through the API while the emulator drops, duplicates and reorders callbacks and pushes, answers
some calls with 5xx or congestion, throttles below our budget and expires tokens every few
emulated minutes. Mid-run one worker is killed with SIGKILL and restarted, and web is restarted.
Then the run settles and reports:

- commands whose state in cmdkeeper differs from the emulator's truth (must be 0);
- stale commands the platform sent more than one sweep interval after they became stale (0);
- callbacks/pushes cmdkeeper acknowledged but whose status is missing from the timeline (0);
- the busiest rolling window of platform calls against our budget (never above it).

    .venv/bin/python -m bench.chaos            # 200 devices, 2,000 commands (a few minutes)
    .venv/bin/python -m bench.chaos --small    # the short variant the tests run
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import redis
import requests

from bench.chaos_report import (
    SMALL,
    ChaosReport,
    ChaosSettings,
    iso_ms,
    revocation_lag,
    summary,
)
from bench.stall_probe import StallProbe
from dev.embedded_redis import COMPACT_HASHES
from dev.procs import (
    Managed,
    free_port,
    start_gunicorn,
    start_python,
    start_redis,
    start_worker,
    wait_until,
)
from emulator.testing import busiest_window, start_emulator
from platforms.huawei_vocab import STATES as HUAWEI
from platforms.onenet_vocab import onenet_state
from store import keys
from store.model import State

API_TOKEN = "chaos-api-token-3f9c"
WEBHOOK_TOKEN = "chaos-webhook-token-81d2"
PUSH_TOKEN = "chaos-push-token-55ab"
RESULTS = Path(__file__).parent / "results"
#: Processes a revocation passes through after its deadline (the clock's sweep, the worker's job,
#: the platform's cancel), each of which a stall of the machine can hold up.
STALL_HOPS = 3


class Run:
    """One chaos run's processes and bookkeeping."""

    def __init__(self, s: ChaosSettings, workdir: Path, say=print) -> None:
        self.s, self.dir, self.say = s, workdir, say
        self.report = ChaosReport(asdict(s))
        self.procs: list[Managed] = []
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {API_TOKEN}"
        self.commands: dict[str, tuple[str, str]] = {}  # command id -> (platform, device)

    # -- processes --------------------------------------------------------------------------
    def start(self) -> None:
        s = self.s
        self.probe = StallProbe(self.dir / "stalls.txt").start()
        self.redis = start_redis(self.dir / "redis", appendonly=True,
                                 extra_args=list(COMPACT_HASHES))
        self.emu = start_emulator(seed=s.seed, speed=s.speed, start_ms=None,
                                  log=self.dir / "emulator.log", faults={
                                      "huawei_rate_limit": s.platform_limit,
                                      "onenet_rate_limit": s.platform_limit,
                                      "rate_window_s": s.window_s,
                                      "token_ttl_s": s.token_ttl_s})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "REDIS_URL": self.redis.url, "CMDKEEPER_API_TOKEN": API_TOKEN,
            "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "PUBLIC_URL": self.url,
            "HUAWEI_BASE_URL": self.emu.url, "HUAWEI_APP_ID": "demo-app",
            "HUAWEI_SECRET": "demo-secret", "ONENET_BASE_URL": self.emu.url,
            "ONENET_API_KEY": "demo-onenet-key", "ONENET_PUSH_TOKEN": PUSH_TOKEN,
            "STALE_AFTER_S": str(s.stale_after_s), "RECONCILE_AFTER_S": str(s.reconcile_after_s),
            "SWEEP_INTERVAL_S": str(s.sweep_interval_s), "HUAWEI_RATE_PER_MIN": str(s.rate_limit),
            "ONENET_RATE_PER_MIN": str(s.rate_limit), "PLATFORM_RATE_WINDOW_S": str(s.window_s),
            "WEB_CONCURRENCY": "2", "METRICS_FLUSH_S": "1",
        }
        self.web = self._start_web()
        self.workers = [self._start_worker(i) for i in range(2)]
        self.procs.append(start_python("workers.clock", self.env, log=self.dir / "clock.log"))
        self.emu.client.set_onenet_push(self.url + "/webhooks/onenet", PUSH_TOKEN)
        rng = random.Random(s.seed)
        for i in range(s.huawei_devices):
            self.emu.client.add_device("huawei", f"hw{i:04d}", wake_period_s=s.wake_period_s,
                                       jitter_s=s.wake_period_s / 4, first_wake_s=rng.uniform(
                                           0, s.wake_period_s), failure_p=0.1, no_answer_p=0.1)
        for i in range(s.onenet_devices):
            self.emu.client.add_device("onenet", f"8699750312{i:05d}",
                                       wake_period_s=s.wake_period_s, jitter_s=s.wake_period_s / 4,
                                       first_wake_s=rng.uniform(0, s.wake_period_s),
                                       failure_p=0.1, no_answer_p=0.1)
        # the faults start once everything is up: the set-up itself is not under test
        self.emu.client.set_faults(drop_p=s.drop_p, duplicate_p=s.duplicate_p,
                                   reorder_p=s.reorder_p, congestion_p=s.congestion_p,
                                   error_5xx_p=s.error_5xx_p)

    def _start_web(self) -> Managed:
        return start_gunicorn("app:create_app()", self.env, port=self.port,
                              log=self.dir / "web.log")

    def _start_worker(self, i: int) -> Managed:
        return start_worker(self.env, threads=8, log=self.dir / f"worker{i}.log")

    def stop(self) -> None:
        self.probe.stop()
        for p in [*self.workers, *self.procs, self.web]:
            p.stop()
        self.emu.stop()
        self.redis.stop()

    # -- load ---------------------------------------------------------------------------------
    def create_all(self) -> None:
        s = self.s
        devices = ([("huawei", f"hw{i:04d}") for i in range(s.huawei_devices)]
                   + [("onenet", f"8699750312{i:05d}") for i in range(s.onenet_devices)])
        plan = [devices[i % len(devices)] for i in range(s.commands)]
        random.Random(s.seed).shuffle(plan)
        milestones = {int(s.commands * 0.4): self.kill_a_worker,
                      int(s.commands * 0.6): self.restart_web}
        with ThreadPoolExecutor(s.create_threads) as pool:
            for n, command_id in enumerate(pool.map(self.create, plan), 1):
                self.commands[command_id] = plan[n - 1]
                if n in milestones:
                    milestones.pop(n)()
        self.report.created = len(self.commands)

    def create(self, target: tuple[str, str]) -> str:
        platform, device = target
        body = ({"platform": "huawei", "device_id": device, "service_id": "Valve",
                 "method": "SET", "paras": {"open": 1}} if platform == "huawei" else
                {"platform": "onenet", "device_id": device, "method": "WRITE",
                 "paras": {"obj_id": 3311, "obj_inst_id": 0, "mode": 1,
                           "data": [{"res_id": 5850, "val": True}]}})
        delay = 0.1
        while True:
            try:
                r = self.http.post(self.url + "/api/v1/commands", json=body, timeout=60)
                if r.status_code == 201:
                    return r.json()["command_id"]
                if r.status_code not in (502, 503):
                    raise RuntimeError(f"create failed: {r.status_code} {r.text}")
            except requests.ConnectionError:
                pass  # web is restarting
            self.report.create_retries += 1
            time.sleep(delay)  # a client's backoff, not a wait for a condition
            delay = min(delay * 2, 2.0)

    def kill_a_worker(self) -> None:
        if not self.s.kill_worker:
            return
        self.workers[0].kill()  # SIGKILL to its main process and its worker processes
        self.workers[0] = self._start_worker(2)
        self._event("worker 0 killed with SIGKILL and restarted")

    def restart_web(self) -> None:
        if not self.s.restart_web:
            return
        self.web.stop()  # SIGTERM to the gunicorn master and its workers
        self.web = self._start_web()
        self._event("web stopped with SIGTERM and restarted")

    def _event(self, what: str) -> None:
        self.report.events.append(f"{len(self.commands)} commands in, at {time.time():.1f}: "
                                  f"{what}")
        self.say(self.report.events[-1])

    # -- checks -------------------------------------------------------------------------------
    def truth(self) -> dict[str, dict]:
        return {c["command_id"]: c for c in self.emu.client.truth()}

    def records(self) -> dict[str, dict]:
        out = {}
        devices = {d for d in self.commands.values()}
        for platform, device in devices:
            r = self.http.get(f"{self.url}/api/v1/devices/{platform}/{device}/commands",
                              params={"limit": 1000}, timeout=30)
            r.raise_for_status()
            out.update({i["command_id"]: i for i in r.json()["items"]})
        return out

    @staticmethod
    def expected(t: dict) -> str:
        if t["platform"] == "huawei":
            return HUAWEI[t["status"]].value
        return onenet_state(t["status"], t["confirm_status"]).value

    def mismatches(self, truth: dict[str, dict], records: dict[str, dict]) -> list[dict]:
        out = []
        for command_id, t in truth.items():
            ours = records.get(command_id)
            want = self.expected(t)
            if ours is None or ours["state"] != want:
                out.append({"command_id": command_id, "platform": t["platform"],
                            "truth": want, "cmdkeeper": ours and ours["state"]})
        return out

    def broker_idle(self) -> bool:
        """No message waiting, delayed, or held by a worker (a killed worker's included)."""
        r = redis.Redis.from_url(self.redis.url)
        if any(r.llen(f"dramatiq:{q}") for q in ("cmdkeeper", "cmdkeeper.DQ", "cmdkeeper-revoke",
                                                   "cmdkeeper-revoke.DQ")):
            return False
        return all(r.scard(k) == 0 for k in r.scan_iter(match="dramatiq:__acks__.*"))

    def settle(self) -> tuple[dict[str, dict], dict[str, dict]]:
        start = time.monotonic()
        state: dict[str, Any] = {}

        def settled() -> bool:
            if not self.broker_idle():
                return False
            truth = self.truth()
            if not all(State(self.expected(t)).terminal for t in truth.values()):
                return False
            state["truth"], state["records"] = truth, self.records()
            return not self.mismatches(state["truth"], state["records"])

        try:
            wait_until(settled, self.s.settle_timeout_s, "states settled", interval_s=2)
        except Exception as e:  # the report says what did not settle
            self.say(f"not settled: {e}")
            state["truth"], state["records"] = self.truth(), self.records()
        self.report.settle_s = time.monotonic() - start
        return state["truth"], state["records"]

    def check(self, truth: dict[str, dict], records: dict[str, dict]) -> None:
        r = self.report
        r.state_mismatches = self.mismatches(truth, records)
        self.probe.stop()  # everything to judge happened by now
        r.worst_stall_s = round(self.probe.worst, 3)
        status = self.emu.client.status()
        emu_now, real_now = status["now_ms"], time.time() * 1000
        speed = self.s.speed

        def to_real(emu_ms: int) -> float:
            return real_now - (emu_now - emu_ms) / speed

        for command_id, t in truth.items():
            ours = records.get(command_id)
            if not t["sent"] or ours is None or not ours.get("stale_at"):
                continue
            stale_at = iso_ms(ours["stale_at"])
            sent_at = to_real(t["first_sent_ms"])
            late_s = (sent_at - stale_at) / 1000 - self.s.sweep_interval_s
            if late_s > 0:
                # excused only as far as the machine stalled meanwhile (bench/stall_probe.py)
                stall_s = self.probe.worst_between(stale_at, sent_at)
                kept = (r.stalled_deliveries if late_s <= STALL_HOPS * stall_s
                        else r.late_deliveries)
                kept.append({
                    "command_id": command_id, "platform": t["platform"],
                    "late_s": round(late_s, 2), "stall_s": round(stall_s, 3),
                    "stale_at": stale_at / 1000, "sent_at": round(sent_at / 1000, 2),
                    "device_id": ours["device_id"],
                    "timeline": [(e["state"], e["source"], e["at"]) for e in ours["timeline"]]})
        acknowledged = [d for d in self.emu.client.deliveries()
                        if d["event"] == "attempt" and d.get("ok") and "command_id" in d]
        # The platform keeps delivering after the states settle (on a loaded machine its outbox
        # runs well behind): look at what it had delivered by now, once the workers have
        # applied every job, in records read after that.
        wait_until(self.broker_idle, 120, "acknowledged callbacks applied", interval_s=0.5)
        applied = self.records()
        for d in acknowledged:
            ours = applied.get(d["command_id"])
            want = str(d.get("status") or d.get("send_status"))
            seen = {e["platform_status"].split("/")[0] for e in (ours or {}).get("timeline", [])
                    if e["source"] == "callback"}
            if want not in seen:
                r.lost_callbacks.append({"command_id": d["command_id"], "status": want})
        calls = self.emu.client.calls()
        for platform in ("huawei", "onenet"):
            mine = [c for c in calls if c["platform"] == platform]
            r.busiest_window[platform] = busiest_window(mine, window_s=self.s.window_s)
        metric_fields = redis.Redis.from_url(self.redis.url, decode_responses=True).hgetall(
            keys.METRIC_COUNTERS)
        r.revocation_lag = revocation_lag(metric_fields)
        r.throttled_answers = len([c for c in calls if c["error_code"] in ("1010009", "15")])
        r.logins = len([c for c in calls if c["path"].endswith("/sec/v1.1.0/login")])
        for rec in records.values():
            r.final_states[rec["state"]] = r.final_states.get(rec["state"], 0) + 1


def run(settings: ChaosSettings, workdir: Path, say=print) -> ChaosReport:
    started = time.monotonic()
    chaos = Run(settings, workdir, say)
    try:
        chaos.start()
        chaos.create_all()
        say(f"created {chaos.report.created} commands; settling")
        chaos.check(*chaos.settle())
    finally:
        chaos.stop()
    chaos.report.duration_s = time.monotonic() - started
    return chaos.report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="the short variant the tests run")
    ap.add_argument("--keep", type=Path, help="keep every process's log in this folder")
    a = ap.parse_args()
    settings = SMALL if a.small else ChaosSettings()
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
        report = run(settings, a.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            report = run(settings, Path(tmp))
    print(summary(report))
    RESULTS.mkdir(exist_ok=True)
    name = "chaos-small.json" if a.small else "chaos.json"
    (RESULTS / name).write_text(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()

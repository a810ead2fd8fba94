"""`bin/run` itself (dev/devserver.py), as a developer runs it, on ports of its own: it says where
the dashboard is; a second one is refused at once; with PORT moved, Huawei's callbacks and
OneNET's pushes still arrive; the CLI works against it without exporting anything; Ctrl-C stops
web, worker and clock before the emulator and Redis; and after a restart a PENDING command is
still PENDING on both sides, and the CLI's `revoke --all` cancels it on both (not "sent
meanwhile"), counted in the metrics."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from dev.procs import ROOT, free_port, wait_until
from emulator.client import EmulatorClient

TOKEN = "dev-api-token"
#: Variables of the developer's shell that would change what the demo does.
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM")


class Runner:
    def __init__(self, tmp_path: Path, port: int, emulator_port: int) -> None:
        self.env = {k: os.environ[k] for k in KEPT if k in os.environ} | {
            "CMDKEEPER_VAR_DIR": str(tmp_path / "var"), "PORT": str(port),
            "EMULATOR_PORT": str(emulator_port)}
        self.url, self.tmp = f"http://127.0.0.1:{port}", tmp_path
        self.proc: subprocess.Popen | None = None
        self.runs = 0
        self.http = requests.Session()
        self.http.trust_env = False

    def start(self) -> Path:
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "dev.devserver"], cwd=ROOT,
                                     env=self.env, stdout=open(log, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: f"dashboard: {self.url} — token {TOKEN}" in log.read_text(), 60,
                   "bin/run's dashboard line", proc=self.proc)
        return log

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)  # Ctrl-C
        return self.proc.wait(60)

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return self.http.request(method, f"{self.url}/api/v1{path}", timeout=30,
                                 headers={"Authorization": f"Bearer {TOKEN}"}, **kw)

    def create(self, body: dict) -> str:
        r = self.api("POST", "/commands", json=body)
        assert r.status_code == 201, r.text
        return r.json()["command_id"]

    def state(self, platform: str, command_id: str) -> str:
        return self.api("GET", f"/commands/{platform}/{command_id}").json()["state"]

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cmdkeeper", *args], cwd=ROOT,
                              env={**self.env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                              text=True, timeout=60)


def test_bin_run_from_start_to_restart(tmp_path: Path):
    runner = Runner(tmp_path, free_port(), free_port())
    emu = EmulatorClient(f"http://127.0.0.1:{runner.env['EMULATOR_PORT']}")
    log = runner.start()
    try:
        assert f"web listening on http://127.0.0.1:{runner.env['PORT']}" in log.read_text()

        # a second bin/run on the same var/ is refused, naming the first, and starts nothing
        second = subprocess.run([sys.executable, "-m", "dev.devserver"], cwd=ROOT,
                                env=runner.env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert f"already running here (pid {runner.proc.pid}, dashboard {runner.url})" in \
            second.stdout
        assert "started with pid" not in second.stdout

        # PORT moved: the callback and push URLs moved with it
        meter = runner.create({"platform": "huawei", "device_id": "demo-meter-2",
                               "service_id": "Meter", "method": "READ", "paras": {}})
        onenet = runner.create({"platform": "onenet", "device_id": "869975031234561",
                                "method": "READ", "paras": {"obj_id": 3303}})
        emu.wake("huawei", "demo-meter-2")
        emu.wake("onenet", "869975031234561")
        wait_until(lambda: runner.state("huawei", meter) == "SUCCEEDED", 30, "Huawei callbacks")
        wait_until(lambda: runner.state("onenet", onenet) == "SUCCEEDED", 30, "OneNET pushes")
        sources = {e["source"] for e in runner.api(
            "GET", f"/commands/huawei/{meter}").json()["timeline"]}
        assert "callback" in sources

        # the CLI finds the demo's settings by itself
        reconciled = runner.cli("reconcile", "huawei", "demo-meter-2")
        assert reconciled.returncode == 0, reconciled.stderr
        assert "demo-meter-2" in reconciled.stdout

        # a PENDING command across a restart
        valve = runner.create({"platform": "huawei", "device_id": "demo-valve-1",
                               "service_id": "Valve", "method": "SET", "paras": {"open": 1}})
        assert runner.stop() == 0
        out = log.read_text()
        def exited(name: str) -> int:
            return re.search(rf"{name} +\| exited with 0", out).start()

        assert max(exited(n) for n in ("web", "worker", "clock")) < exited("emulator") \
            < out.index("embedded Redis stopped")
        assert not (tmp_path / "var" / "demo.env").exists()

        runner.start()
        assert runner.state("huawei", valve) == "PENDING"
        assert emu.command("huawei", valve)["status"] == "PENDING"  # the emulator kept it
        revoked = runner.cli("revoke", "huawei", "demo-valve-1", "--all")
        assert revoked.returncode == 0, revoked.stderr
        assert f"cancelled:        {valve}" in revoked.stdout
        record = runner.api("GET", f"/commands/huawei/{valve}").json()
        assert [(e["state"], e["source"]) for e in record["timeline"]] == [
            ("PENDING", "api"), ("CANCELED", "revoke")]
        assert record["revoke_requested_by"] == "cli"
        assert emu.command("huawei", valve)["status"] == "CANCELED"
        # the CLI's own counting reached the fleet's metrics
        metrics = runner.http.get(f"{runner.url}/metrics", timeout=10).text
        assert 'cmdkeeper_revocations_total{platform="huawei",reason="requested"} 1.0' in metrics
    finally:
        if runner.proc.poll() is None:
            runner.stop()

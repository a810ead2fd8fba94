"""Real processes for end-to-end tests: the platform emulator, and cmdkeeper's web, worker(s)
and clock, all against the test Redis. Everything is awaited with deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from dev.procs import Managed, free_port, start_gunicorn, start_python, start_worker
from emulator.testing import RunningEmulator, start_emulator
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN
from tests.emulator.iotda_sdk import AK, IOTDA_ENV, PROJECT, SK

ONENET_PUSH_TOKEN = "e2e-push-token"
IOTDA_PUSH_TOKEN = "e2e-iotda-token"
#: Where the emulator's rule engine pushes IoTDA statuses, below the web's URL.
IOTDA_PUSH_PATH = f"/webhooks/iotda/{IOTDA_PUSH_TOKEN}"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    log = Path(tmp_path_factory.mktemp("emulator")) / "emulator.log"
    # the emulated clock starts at the real time: cmdkeeper's processes run on the real one;
    # IoTDA calls must be signed with the key pair cmdkeeper is given
    emu = start_emulator(seed=1, speed=0, start_ms=None, log=log, env=IOTDA_ENV)
    yield emu
    emu.stop()


@pytest.fixture
def emu(emulator: RunningEmulator) -> RunningEmulator:
    emulator.client.reset(seed=1, speed=0, start_ms=int(time.time() * 1000))
    return emulator


@dataclass
class Stack:
    """cmdkeeper running as real processes, and an HTTP session on its API."""

    url: str
    env: dict[str, str]
    procs: list[Managed] = field(default_factory=list)
    http: requests.Session = field(default_factory=requests.Session)
    log_dir: Path | None = None

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {API_TOKEN}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.url + "/api/v1" + path, headers=headers,
                                 timeout=30, **kwargs)

    def record(self, platform: str, command_id: str) -> dict | None:
        r = self.api("GET", f"/commands/{platform}/{command_id}")
        return r.json() if r.status_code == 200 else None

    def start_clock(self) -> None:
        log = self.log_dir / "clock.log" if self.log_dir else None
        self.procs.append(start_python("workers.clock", self.env, log=log))

    def restart_web(self) -> None:
        """Start the web process again on its port (after `self.procs[0].stop()`)."""
        port = int(self.url.rsplit(":", 1)[1])
        self.procs[0] = start_gunicorn("app:create_app()", self.env, port=port,
                                       log=self.log_dir / "web.log" if self.log_dir else None)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()


@pytest.fixture
def stack(redis_client, redis_url: str, emu: RunningEmulator,
          tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """`stack(workers=1, clock=True, **env)` starts web, workers and clock."""
    started: list[Stack] = []

    def start(*, workers: int = 1, clock: bool = True, **env: str) -> Stack:
        port = free_port()
        full_env = {
            "REDIS_URL": redis_url, "CMDKEEPER_API_TOKEN": API_TOKEN,
            "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HUAWEI_BASE_URL": emu.url, "HUAWEI_APP_ID": "demo-app",
            "HUAWEI_SECRET": "demo-secret", "ONENET_BASE_URL": emu.url,
            "ONENET_API_KEY": "demo-onenet-key", "ONENET_PUSH_TOKEN": ONENET_PUSH_TOKEN,
            "IOTDA_ENDPOINT": emu.url, "IOTDA_PROJECT_ID": PROJECT, "IOTDA_AK": AK,
            "IOTDA_SK": SK, "IOTDA_WEBHOOK_TOKEN": IOTDA_PUSH_TOKEN,
            "SWEEP_INTERVAL_S": "1", "WEB_CONCURRENCY": "2", **env,
        }
        s = Stack(f"http://127.0.0.1:{port}", full_env, log_dir=tmp_path)
        started.append(s)
        s.procs.append(start_gunicorn("app:create_app()", full_env, port=port,
                                      log=tmp_path / "web.log"))
        for i in range(workers):
            s.procs.append(start_worker(full_env, threads=4, log=tmp_path / f"worker{i}.log"))
        if clock:
            s.start_clock()
        return s

    yield start
    for s in started:
        s.stop()

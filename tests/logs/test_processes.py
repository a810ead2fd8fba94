"""Structured logs of real processes: gunicorn (`web`) and a dramatiq `worker` on a real Redis.

Given web and worker at LOG_LEVEL=DEBUG writing to log files, when a Huawei callback arrives
with `X-Request-ID: abc123` and another with a hostile one, then every line of both files is a
JSON object (but for dramatiq's own supervisor lines), the worker's line for each job carries
the request id its callback was answered with, and no secret is in any file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from dev.procs import start_gunicorn, start_worker, wait_until
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN

#: dramatiq's main process writes its own few lines (booting, signals) in its own format.
DRAMATIQ_SUPERVISOR = re.compile(r"^\[[^]]+\] \[PID \d+\] \[MainThread\] \[dramatiq\.MainProcess\]")
HOSTILE = 'x", "request_id": "forged'


def callback(command: str) -> dict:
    return {"deviceId": "dev-1", "commandId": command,
            "result": {"resultCode": "SENT", "resultDetail": None}}


def read_log(path: Path) -> list[dict]:
    records, other = [], []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
        elif line.strip() and not DRAMATIQ_SUPERVISOR.match(line):
            other.append(line)
    assert not other, f"lines of {path.name} that are not JSON: {other[:5]}"
    return records


@pytest.fixture
def processes(redis_client, redis_url: str, tmp_path: Path):
    env = {"REDIS_URL": redis_url, "CMDKEEPER_API_TOKEN": API_TOKEN,
           "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "WEB_CONCURRENCY": "1",
           "LOG_LEVEL": "DEBUG"}
    web = start_gunicorn("app:create_app()", env, log=tmp_path / "web.log")
    worker = start_worker(env, threads=2, log=tmp_path / "worker.log")
    yield web, worker
    worker.stop()
    web.stop()


def test_a_callbacks_request_id_reaches_its_jobs_log_line(processes, store, tmp_path: Path):
    web, worker = processes
    url = f"{web.url}/webhooks/huawei/{WEBHOOK_TOKEN}"
    kept = requests.post(url, json=callback("cmd-a"), headers={"X-Request-ID": "abc123"},
                         timeout=10)
    replaced = requests.post(url, json=callback("cmd-b"), headers={"X-Request-ID": HOSTILE},
                             timeout=10)
    assert kept.status_code == replaced.status_code == 200
    assert kept.headers["X-Request-ID"] == "abc123"
    fresh = replaced.headers["X-Request-ID"]
    assert fresh != HOSTILE and re.fullmatch(r"[0-9a-f]{32}", fresh)

    wait_until(lambda: all((store.get("huawei", c) or {}).get("state") == "SENT"
                           for c in ("cmd-a", "cmd-b")), 30, "both events applied",
               interval_s=0.1)
    worker.stop()
    web.stop()  # every line written

    worker_lines = read_log(tmp_path / "worker.log")
    applied = {r["message"].split()[3]: r for r in worker_lines
               if r["message"].startswith("event applied: huawei")}
    assert applied["cmd-a"]["request_id"] == "abc123"
    assert applied["cmd-b"]["request_id"] == fresh
    assert applied["cmd-a"]["role"] == "worker" and applied["cmd-a"]["level"] == "DEBUG"
    assert not any(HOSTILE in json.dumps(r) for r in worker_lines)

    web_lines = read_log(tmp_path / "web.log")
    assert any(r["message"].startswith("Starting gunicorn") for r in web_lines), \
        "gunicorn's master writes JSON too"
    assert {r["role"] for r in web_lines} == {"web"}
    text = (tmp_path / "web.log").read_text() + (tmp_path / "worker.log").read_text()
    assert API_TOKEN not in text and WEBHOOK_TOKEN not in text

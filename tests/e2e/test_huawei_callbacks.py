"""End to end: gunicorn (`web`) and a dramatiq `worker` as real processes on a real Redis.

Given 50 commands (40 created through the store as the API would, 10 never seen), when 500
callbacks for them arrive over HTTP, shuffled, with duplicates and both body formats, then every
command ends in the state its highest-ranked event implies, with a full timeline.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cmdkeeper.procs import start_gunicorn, start_worker, wait_until
from platforms.statuses import HUAWEI
from store.commands import NewCommand
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN

LIFECYCLES = [
    ["SENT"], ["SENT", "DELIVERED"], ["SENT", "DELIVERED", "SUCCESSFUL"],
    ["SENT", "DELIVERED", "FAILED"], ["SENT", "TIMEOUT"], ["SENT", "DELIVERED", "SUCCESSFUL"],
]


@pytest.fixture
def services(redis_client, redis_url, tmp_path):
    env = {"REDIS_URL": redis_url, "CMDKEEPER_API_TOKEN": API_TOKEN,
           "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "WEB_CONCURRENCY": "2"}
    web = start_gunicorn("app:create_app()", env, log=tmp_path / "web.log")
    worker = start_worker(env, threads=4, log=tmp_path / "worker.log")
    yield web
    worker.stop()
    web.stop()


def body(device: str, command: str, status: str, rng: random.Random) -> dict:
    if rng.random() < 0.2:
        return {"resource": "device.command.status", "event": "update",
                "notify_data": {"header": {"device_id": device},
                                "body": {"command_id": command, "status": status}}}
    return {"deviceId": device, "commandId": command,
            "result": {"resultCode": status, "resultDetail": None}}


def test_a_shuffled_burst_with_duplicates_converges(services, store):
    rng = random.Random(7)
    commands = {f"cmd{i:02d}": (f"dev{i % 10}", rng.choice(LIFECYCLES)) for i in range(50)}
    for i, (cmd, (device, _)) in enumerate(commands.items()):
        if i < 40:
            store.create_command(NewCommand(
                platform="huawei", device_id=device, command_id=cmd, service_id="Valve",
                method="SET", paras={"i": i}, created_ms=1_700_000_000_000,
                stale_at_ms=1_800_000_000_000))
    distinct = [(dev, cmd, status) for cmd, (dev, life) in commands.items() for status in life]
    sends = distinct + [rng.choice(distinct) for _ in range(500 - len(distinct))]
    rng.shuffle(sends)

    url = f"{services.url}/webhooks/huawei/{WEBHOOK_TOKEN}"
    payloads = [body(*s, rng) for s in sends]
    with requests.Session() as http, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: http.post(url, json=p, timeout=10), payloads))
    assert all(a.status_code == 200 for a in answers)
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("accepted") == len(distinct)
    assert statuses.count("duplicate") == 500 - len(distinct)

    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    def converged() -> bool:
        for cmd, (_, life) in commands.items():
            r = http_get(f"{services.url}/api/v1/commands/huawei/{cmd}", auth)
            if r is None or r["state"] != HUAWEI[life[-1]].value:
                return False
            seen = [e["platform_status"] for e in r["timeline"] if e["source"] == "callback"]
            if sorted(seen) != sorted(life):
                return False
        return True

    wait_until(converged, timeout_s=60, what="all commands converged", interval_s=0.2)
    created = http_get(f"{services.url}/api/v1/commands/huawei/cmd00", auth)
    assert created["timeline"][0]["source"] == "api"
    unknown = http_get(f"{services.url}/api/v1/commands/huawei/cmd45", auth)
    assert unknown["origin"] == "unknown"


def test_chunked_oversize_body_is_413_over_real_http(services):
    def chunks():
        yield b'{"deviceId": "d1", "pad": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    r = requests.post(f"{services.url}/webhooks/huawei/{WEBHOOK_TOKEN}", data=chunks(),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413


def http_get(url: str, headers: dict) -> dict | None:
    r = requests.get(url, headers=headers, timeout=5)
    return r.json() if r.status_code == 200 else None

"""Restarts: Redis stopped and started mid-run (AOF), and SIGTERM to web and worker as Heroku
sends it. Whatever cmdkeeper acknowledged is applied in the end, exactly once."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from dev.embedded_redis import COMPACT_HASHES
from dev.procs import (
    Managed,
    ProcessError,
    free_port,
    start_gunicorn,
    start_redis,
    start_worker,
    wait_until,
)
from store import keys
from store.records import decode_record, read_raw
from store.script_calls import Scripts
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN
from workers.broker import HEARTBEAT_TIMEOUT_MS

QUEUE = "dramatiq:cmdkeeper"


def env_for(redis_url: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "CMDKEEPER_API_TOKEN": API_TOKEN,
            "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "WEB_CONCURRENCY": "2"}


def callback(device: str, command: str, status: str) -> dict:
    return {"deviceId": device, "commandId": command,
            "result": {"resultCode": status, "resultDetail": None}}


class Poster:
    """Posts callbacks like a platform: retries until a 200, remembers what was acknowledged."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/webhooks/huawei/{WEBHOOK_TOKEN}"
        self.http = requests.Session()
        self.acknowledged: list[tuple[str, str]] = []
        self.refused: dict[int, int] = {}

    def post_until_acknowledged(self, device: str, command: str, status: str,
                                stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                r = self.http.post(self.url, json=callback(device, command, status), timeout=10)
            except requests.ConnectionError:
                continue  # the platform tries again
            if r.status_code == 200:
                self.acknowledged.append((command, status))
                return
            self.refused[r.status_code] = self.refused.get(r.status_code, 0) + 1


def where_messages_are(client: redis.Redis) -> dict[str, int]:
    """dramatiq's queues and per-worker unacknowledged sets, for a failure message."""
    return {key: (client.llen(key) if client.type(key) == "list" else client.scard(key)
                  if client.type(key) == "set" else client.zcard(key)
                  if client.type(key) == "zset" else -1)
            for key in client.scan_iter("dramatiq:*") if not key.endswith(".msgs")}


def timeline(client: redis.Redis, device: str, command: str) -> list[dict]:
    """The timeline of one record, read as the API reads it."""
    [row] = read_raw(Scripts(client), [keys.command("huawei", device, command)])
    return decode_record(row)["timeline"] if row else []


def applied(client: redis.Redis, command: str, device: str) -> set[str]:
    return {entry["platform_status"] for entry in timeline(client, device, command)}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[dict]:
    """A Redis of this test's own (it is stopped and restarted), with AOF on like the embedded
    one."""
    holder = {"port": free_port(), "dir": tmp_path / "redis"}
    holder["server"] = start_redis(holder["dir"], appendonly=True, port=holder["port"],
                                   extra_args=list(COMPACT_HASHES))
    yield holder
    holder["server"].stop()


def test_a_redis_restart_loses_no_acknowledged_callback(own_redis, tmp_path):
    url = own_redis["server"].url
    env = env_for(url)
    web = start_gunicorn("app:create_app()", env, log=tmp_path / "web.log")
    worker = start_worker(env, threads=4, log=tmp_path / "worker.log")
    poster, stop = Poster(web.url), threading.Event()
    plan = [(f"dev{i % 10}", f"cmd{i:03d}", s) for i in range(60)
            for s in ("SENT", "DELIVERED", "SUCCESSFUL")]
    try:
        def post_all() -> None:
            for device, command, status in plan:
                poster.post_until_acknowledged(device, command, status, stop)

        thread = threading.Thread(target=post_all)
        thread.start()
        wait_until(lambda: len(poster.acknowledged) >= len(plan) // 3, 30, "a third posted")
        own_redis["server"].stop()  # SIGTERM: Redis writes its AOF and exits
        wait_until(lambda: poster.refused.get(503, 0) > 0, 30, "web answers 503 without Redis")
        own_redis["server"] = start_redis(own_redis["dir"], appendonly=True,
                                          port=own_redis["port"],
                                          extra_args=list(COMPACT_HASHES))
        thread.join(120)
        assert not thread.is_alive()
        assert set(poster.refused) <= {503}, poster.refused  # never a 500

        client = redis.Redis.from_url(url, decode_responses=True)

        def all_applied() -> bool:
            return all(status in applied(client, command, device)
                       for device, command, status in plan)

        try:
            wait_until(all_applied, 60, "every acknowledged callback applied", interval_s=0.2)
        except ProcessError:
            missing = [(c, s) for d, c, s in plan if s not in applied(client, c, d)]
            raise AssertionError(f"not applied: {missing[:10]} ({len(missing)}); "
                                 f"dramatiq keys: {where_messages_are(client)}") from None
        assert len(poster.acknowledged) == len(plan)
    finally:
        stop.set()
        worker.stop()
        web.stop()


def queue_callbacks(env: dict[str, str], redis_client: redis.Redis, total: int,
                    tmp_path: Path) -> None:
    """`total` callbacks acknowledged by web, each for a command of its own, left queued."""
    web = start_gunicorn("app:create_app()", env, log=tmp_path / "web.log")
    try:
        http = requests.Session()
        for i in range(total):
            r = http.post(f"{web.url}/webhooks/huawei/{WEBHOOK_TOKEN}",
                          json=callback(f"d{i % 50}", f"c{i:05d}", "DELIVERED"), timeout=10)
            assert r.status_code == 200
    finally:
        web.stop()
    assert redis_client.llen(QUEUE) == total


def count_records(redis_client: redis.Redis) -> int:
    return sum(1 for _ in redis_client.scan_iter(match="ck:*:cmd:*", count=1000))


def assert_applied_once(redis_client: redis.Redis, total: int) -> None:
    for i in range(0, total, 7):
        entries = timeline(redis_client, f"d{i % 50}", f"c{i:05d}")
        assert len(entries) == 1, f"c{i:05d} applied more than once: {entries}"


def test_sigterm_to_a_busy_worker_requeues_and_nothing_is_applied_twice(redis_url,
                                                                         redis_client, tmp_path):
    env = env_for(redis_url)
    total = 1500
    queue_callbacks(env, redis_client, total, tmp_path)
    worker = start_worker(env, threads=8, log=tmp_path / "worker1.log")
    wait_until(lambda: count_records(redis_client) >= 100, 30, "the worker is busy")
    worker.signal_group(signal.SIGTERM)  # every process of the "dyno", as Heroku does
    assert worker.proc.wait(30) == 0  # it stopped by itself, in time
    done = count_records(redis_client)
    waiting = redis_client.llen(QUEUE)
    assert done + waiting >= total, "every message applied or back on the queue"

    worker = start_worker(env, threads=8, log=tmp_path / "worker2.log")
    try:
        wait_until(lambda: count_records(redis_client) == total
                   and redis_client.llen(QUEUE) == 0, 60,
                   "the rest applied")
    finally:
        worker.stop()
    assert_applied_once(redis_client, total)


def _acks(redis_client: redis.Redis) -> dict[str, int]:
    """dramatiq's per-worker sets of fetched, unacknowledged messages, by key."""
    return {k: redis_client.scard(k) for k in redis_client.scan_iter(match="dramatiq:__acks__.*")}


def freeze_while_holding_messages(worker: Managed, redis_client: redis.Redis,
                                  timeout_s: float = 30) -> dict[str, int]:
    """SIGSTOP the worker at a moment it holds fetched messages; returns what it holds.

    A fast worker can apply a whole queue between two looks, so looking and then killing may
    catch it with nothing in hand. Stopped, it changes nothing: what it holds is read while it
    is frozen, and it is let go again (SIGCONT) until a look finds it holding some.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(_acks(redis_client).values()) == 0:
            time.sleep(0.005)
            continue
        worker.signal_group(signal.SIGSTOP)
        held = _acks(redis_client)
        if sum(held.values()) > 0:
            return held
        worker.signal_group(signal.SIGCONT)
    raise AssertionError(f"the worker never held fetched messages within {timeout_s} s")


def test_sigkill_to_a_busy_worker_loses_nothing_and_its_messages_come_back_in_seconds(
        redis_url, redis_client, tmp_path):
    env = env_for(redis_url)
    total = 1500
    queue_callbacks(env, redis_client, total, tmp_path)
    worker = start_worker(env, threads=8, log=tmp_path / "worker1.log")
    held = freeze_while_holding_messages(worker, redis_client)
    killed_at = time.monotonic()  # frozen: it has been silent since this moment
    worker.kill()  # SIGKILL: no chance to put back what it had fetched
    assert sum(held.values()) > 0, "the killed worker held messages"

    worker = start_worker(env, threads=8, log=tmp_path / "worker2.log")
    try:
        # a worker silent for HEARTBEAT_TIMEOUT_MS is dead: its messages go back on the queue
        wait_until(lambda: not any(redis_client.scard(k) for k in held),
                   HEARTBEAT_TIMEOUT_MS / 1000 + 9, "the killed worker's messages requeued",
                   interval_s=0.1)
        requeued_after_s = time.monotonic() - killed_at
        wait_until(lambda: count_records(redis_client) == total
                   and redis_client.llen(QUEUE) == 0, 60, "the rest applied")
    finally:
        worker.stop()
    assert requeued_after_s >= HEARTBEAT_TIMEOUT_MS / 1000 - 0.5  # not before it was dead
    assert_applied_once(redis_client, total)


def test_sigterm_to_web_mid_burst_keeps_every_acknowledged_callback(redis_url, redis_client,
                                                                     tmp_path):
    env = env_for(redis_url)
    web: Managed = start_gunicorn("app:create_app()", env, log=tmp_path / "web.log")
    acknowledged: list[int] = []

    def burst() -> None:
        http = requests.Session()
        for i in range(3000):
            try:
                r = http.post(f"{web.url}/webhooks/huawei/{WEBHOOK_TOKEN}",
                              json=callback("d1", f"w{i:05d}", "SENT"), timeout=10)
            except requests.ConnectionError:
                return  # web is gone
            if r.status_code == 200:
                acknowledged.append(i)

    thread = threading.Thread(target=burst)
    thread.start()
    wait_until(lambda: len(acknowledged) >= 200, 30, "the burst is under way")
    web.signal_group(signal.SIGTERM)
    assert web.proc.wait(30) == 0
    thread.join(30)
    assert 200 <= len(acknowledged) < 3000
    worker = start_worker(env, threads=8, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: redis_client.llen(QUEUE) == 0, 60, "queue drained")
    finally:
        worker.stop()
    missing = [i for i in acknowledged
               if not redis_client.exists(keys.command("huawei", "d1", f"w{i:05d}"))]
    assert missing == []

"""Real processes: callbacks posted to gunicorn's workers and applied by a dramatiq worker are
counted in each of those processes, and any web process's `/metrics` shows the sums."""

from __future__ import annotations

import requests

from dev.procs import wait_until
from tests.conftest import WEBHOOK_TOKEN
from tests.e2e.conftest import emu, emulator, stack  # noqa: F401  (real-process fixtures)
from tests.metrics.conftest import parse, value

CALLBACKS = 12


def test_counts_of_web_and_worker_processes_add_up_at_metrics(stack):  # noqa: F811
    # given web (2 gunicorn workers) and a dramatiq worker, each flushing every second
    s = stack(workers=1, clock=False, METRICS_FLUSH_S="1")
    session = requests.Session()
    for i in range(CALLBACKS):
        body = {"deviceId": "d1", "commandId": f"c{i}",
                "result": {"resultCode": "DELIVERED", "resultDetail": None}}
        response = session.post(f"{s.url}/webhooks/huawei/{WEBHOOK_TOKEN}", json=body, timeout=10)
        assert response.status_code == 200

    def scraped() -> dict:
        return parse(session.get(f"{s.url}/metrics", timeout=10).text)

    # then the sums reach /metrics: received by web, applied by the worker
    def all_counted() -> bool:
        samples = scraped()
        return (value(samples, "cmdkeeper_callbacks_received_total", platform="huawei")
                == CALLBACKS
                and value(samples, "cmdkeeper_events_applied_total", platform="huawei",
                          source="callback", outcome="created") == CALLBACKS)

    wait_until(all_counted, 30, "every process's counting at /metrics")
    samples = scraped()
    assert value(samples, "cmdkeeper_commands", platform="huawei", state="DELIVERED") == CALLBACKS

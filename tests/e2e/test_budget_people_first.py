"""The call budget serves people first, end to end: real web, worker and clock processes and the
emulator. Given a reconcile backlog of 300 devices (after an outage, say) on a platform that
allows 40 calls per window, when an operator creates commands meanwhile, then every create
succeeds within a few seconds, the backlog drains in deadline order, and the platform's limit
holds in every window (it never throttles us).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from dev.procs import wait_until
from emulator.testing import busiest_window
from store.commands import NewCommand

#: One platform window is 6 s here instead of 60 (both sides agree), to keep the run short.
WINDOW_S, LIMIT = 6, 40
BACKLOG = 300
CREATES = 16


def test_creates_succeed_while_a_reconcile_backlog_drains(stack, emu, store):
    emu.client.set_faults(rate_window_s=WINDOW_S, huawei_rate_limit=LIMIT)
    backlog = [f"b{i:03d}" for i in range(BACKLOG)]
    people = [f"p{i:02d}" for i in range(CREATES)]
    for d in backlog + people:
        emu.client.add_device("huawei", d, wake_period_s=0)
    # each backlog device has an open command whose silence is overdue, the oldest first
    now = int(time.time() * 1000)
    pipe = store.client.pipeline(transaction=False)
    for i, d in enumerate(backlog):
        created = now - 3_600_000 + i * 1000
        store.create_command(NewCommand(
            platform="huawei", device_id=d, command_id=f"open-{d}", service_id="Valve",
            method="SET", paras={}, created_ms=created, stale_at_ms=now + 3_600_000),
            pipe=pipe)
    pipe.execute()
    s = stack(HUAWEI_RATE_PER_MIN=str(LIMIT), PLATFORM_RATE_WINDOW_S=str(WINDOW_S),
              RECONCILE_AFTER_S="60", STALE_AFTER_S="3600")
    wait_until(lambda: _history_calls(emu), 30, "the backlog is being reconciled")

    latencies = []
    for d in people:
        started = time.monotonic()
        r = s.api("POST", "/commands", json={"platform": "huawei", "device_id": d,
                                             "service_id": "Valve", "method": "SET",
                                             "paras": {"open": 1}})
        latencies.append(time.monotonic() - started)
        assert r.status_code == 201, r.text
        time.sleep(0.4)  # an operator's pace, not a wait for anything
    assert max(latencies) < 5, latencies

    reconciled = _history_calls(emu)
    assert len(reconciled) >= 10, "the backlog kept draining meanwhile"
    # in deadline order: the devices reconciled so far are the oldest ones (threads overlap a
    # little, so a device may come a few places early or late)
    seen = {int(d[1:]) for d in reconciled}
    assert max(seen) < len(seen) + 8, sorted(seen)
    calls = emu.client.calls("huawei")
    assert not [c for c in calls if c["error_code"] == "1010009"], "the platform throttled us"
    assert busiest_window(calls, window_s=WINDOW_S) <= LIMIT


def _history_calls(emu) -> list[str]:
    """The devices whose history was queried, in call order."""
    out = []
    for c in emu.client.calls("huawei"):
        if c["method"] == "GET" and c["path"].endswith("/deviceCommands"):
            device = parse_qs(c["query"]).get("deviceId", [""])[0]
            if device.startswith("b") and device not in out:
                out.append(device)
    return out

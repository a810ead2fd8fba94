"""Huawei end to end: cmdkeeper's web, worker(s) and clock as real processes against the
emulator over real HTTP, on a real Redis.

Given sleepy devices and commands created through the API, when they go stale, callbacks are
lost, the platform throttles or tokens die, then cmdkeeper's state matches the platform's truth
and the platform's rules (call limit, one login) are kept.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from dev.procs import wait_until
from platforms.huawei_vocab import STATES as HUAWEI
from store import keys
from store.commands import NewCommand

CANCEL_TASKS = "/iocm/app/cmd/v1.4.0/deviceCommandCancelTasks"
COMMANDS = "/iocm/app/cmd/v1.4.0/deviceCommands"
LOGIN = "/iocm/app/sec/v1.1.0/login"


def create(stack, device: str, **extra) -> str:
    r = stack.api("POST", "/commands", json={
        "platform": "huawei", "device_id": device, "service_id": "Valve", "method": "SET",
        "paras": {"open": 1}, **extra})
    assert r.status_code == 201, r.text
    return r.json()["command_id"]


def truth_status(emu, command_id: str) -> str:
    return emu.client.command("huawei", command_id)["status"]


def test_stale_commands_are_revoked_by_one_task_or_one_by_one(stack, emu):
    for device in ("dev-all", "dev-mix"):
        emu.client.add_device("huawei", device, wake_period_s=0)
    s = stack(STALE_AFTER_S="2", RECONCILE_AFTER_S="3600", clock=False)
    all_stale = [create(s, "dev-all") for _ in range(3)]
    mix_stale = [create(s, "dev-mix", stale_after_s=1) for _ in range(2)]
    mix_fresh = create(s, "dev-mix", stale_after_s=3600)
    emu.client.set_speed(20)  # cancel tasks take a few emulated seconds to finish
    # The clock starts once all are stale: on a loaded machine the creations spread out, and a
    # revocation at the first deadline would rightly leave the later commands alone.
    last_stale_at = max(datetime.fromisoformat(s.record("huawei", c)["stale_at"])
                        for c in all_stale + mix_stale)
    wait_until(lambda: datetime.now(UTC) > last_stale_at, 10, "the commands stale")
    s.start_clock()

    def revoked() -> bool:
        records = [s.record("huawei", c) for c in all_stale + mix_stale]
        return all(r["state"] == "CANCELED" for r in records)

    wait_until(revoked, 30, "stale commands revoked", interval_s=0.2)
    assert all(truth_status(emu, c) == "CANCELED" for c in all_stale + mix_stale)
    assert truth_status(emu, mix_fresh) == "PENDING"
    assert s.record("huawei", mix_fresh)["state"] == "PENDING"
    for c in all_stale + mix_stale:
        assert s.record("huawei", c)["timeline"][-1]["source"] == "revoke"

    calls = emu.client.calls("huawei")
    tasks = [c for c in calls if c["method"] == "POST" and c["path"] == CANCEL_TASKS]
    assert len(tasks) == 1, "one cancel task for the device whose commands were all stale"
    singles = {c["path"].rsplit("/", 1)[1] for c in calls
               if c["method"] == "PUT" and c["path"].startswith(COMMANDS + "/")}
    assert singles == set(mix_stale)

    # the devices wake: what was revoked is never delivered; the fresh command is
    emu.client.wake("huawei", "dev-all")
    emu.client.wake("huawei", "dev-mix")
    emu.client.advance(30)
    assert not any(emu.client.command("huawei", c)["sent"] for c in all_stale + mix_stale)
    wait_until(lambda: s.record("huawei", mix_fresh)["state"] == "SUCCEEDED", 30,
               "the fresh command's callbacks applied")


def test_states_match_the_platform_after_reconcile_despite_lost_callbacks(stack, emu):
    devices = [f"dev{i}" for i in range(8)]
    for d in devices:
        emu.client.add_device("huawei", d, wake_period_s=0, failure_p=0.2, no_answer_p=0.1)
    emu.client.set_faults(drop_p=0.3)
    s = stack(STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    commands = [create(s, d) for d in devices for _ in range(3)]
    for d in devices:
        emu.client.wake("huawei", d)
    for _ in range(10):  # long enough for every command to end, TIMEOUT included
        emu.client.advance(60)
        for d in devices:
            emu.client.wake("huawei", d)
    emu.client.flush()
    truth = {c: truth_status(emu, c) for c in commands}
    assert all(HUAWEI[t].terminal for t in truth.values())
    dropped = [d for d in emu.client.deliveries("huawei") if d["event"] == "dropped"]
    assert dropped, "the run must actually lose callbacks"

    for d in devices:
        assert s.api("POST", f"/devices/huawei/{d}/reconcile").status_code == 202

    def converged() -> bool:
        return all(s.record("huawei", c)["state"] == HUAWEI[t].value for c, t in truth.items())

    wait_until(converged, 30, "cmdkeeper matches the platform", interval_s=0.2)
    sources = {e["source"] for c in commands for e in s.record("huawei", c)["timeline"]}
    assert "reconcile" in sources


def test_two_workers_never_exceed_the_call_limit_and_throttling_is_retried(stack, emu,
                                                                           redis_client):
    # One platform window is 2 s here instead of 60 (both sides agree), to keep the run short.
    window_s, limit = 2, 100
    emu.client.set_faults(rate_window_s=window_s, huawei_rate_limit=limit)
    devices = [f"t{i:03d}" for i in range(300)]
    for d in devices:
        emu.client.add_device("huawei", d, wake_period_s=0)
    s = stack(workers=2, STALE_AFTER_S="1", RECONCILE_AFTER_S="3600",
              PLATFORM_RATE_WINDOW_S=str(window_s), HUAWEI_RATE_PER_MIN=str(limit))
    emu.client.set_speed(20)
    first, second = devices[:150], devices[150:]
    commands = {d: create(s, d) for d in first}

    def all_canceled(ds) -> bool:
        return all(s.record("huawei", commands[d])["state"] == "CANCELED" for d in ds)

    wait_until(lambda: all_canceled(first), 120, "first half revoked", interval_s=0.5)
    calls = emu.client.calls("huawei")
    assert not [c for c in calls if c["error_code"] == "1010009"]

    # the platform now allows less than we think: it throttles, and we must get through. (Two
    # fifths, with clients creating at once: creation alone may take half of our budget.)
    emu.client.set_faults(huawei_rate_limit=limit * 2 // 5)
    with ThreadPoolExecutor(8) as clients:
        created = list(clients.map(lambda d: create_retrying(s, d), second))
    commands.update(zip(second, created, strict=True))
    wait_until(lambda: all_canceled(second), 180, "second half revoked", interval_s=0.5)
    calls = emu.client.calls("huawei")
    assert [c for c in calls if c["error_code"] == "1010009"], "throttling was injected"
    assert all("error" not in s.record("huawei", commands[d]) for d in devices)
    # never more than our budget in any window of the platform's (real-time) call log
    times = sorted(c["real_ms"] for c in calls)
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window_s * 1000:
            j += 1
        assert i - j + 1 <= limit, f"{i - j + 1} calls within {window_s}s"


def create_retrying(stack, device: str) -> str:
    """Create through the API; a 503/502 while the platform throttles is retried by the user."""
    for _ in range(20):
        r = stack.api("POST", "/commands", json={
            "platform": "huawei", "device_id": device, "service_id": "Valve", "method": "SET",
            "paras": {}})
        if r.status_code == 201:
            return r.json()["command_id"]
        assert r.status_code in (502, 503), r.text
    raise AssertionError(f"could not create a command for {device}")


def test_token_expiry_and_a_competing_login_cost_one_relogin_each(stack, emu):
    emu.client.add_device("huawei", "tok-dev", wake_period_s=0)
    s = stack(clock=False)

    def logins() -> int:
        return len([c for c in emu.client.calls("huawei") if c["path"] == LOGIN])

    create(s, "tok-dev")
    assert logins() == 1
    assert emu.client.expire_huawei_token()
    create(s, "tok-dev")
    create(s, "tok-dev")
    assert logins() == 2
    competitor = requests.post(emu.url + LOGIN, data={"appId": "demo-app",
                                                      "secret": "demo-secret"}, timeout=10)
    assert competitor.status_code == 200
    create(s, "tok-dev")
    create(s, "tok-dev")
    assert logins() == 4  # the competitor's, and our one re-login
    errors = [c for c in emu.client.calls("huawei") if c["error_code"] == "1010005"]
    assert len(errors) == 2


def test_a_permanent_error_is_recorded_without_a_retry_storm(stack, emu, store, redis_client):
    now = emu.client.now_ms()
    store.create_command(NewCommand(
        platform="huawei", device_id="ghost", command_id="c-ghost", service_id="Valve",
        method="SET", paras={}, created_ms=now - 10_000, stale_at_ms=now - 5_000))
    s = stack(STALE_AFTER_S="1", RECONCILE_AFTER_S="3600")

    wait_until(lambda: "error" in (s.record("huawei", "c-ghost") or {}), 30,
               "the platform's refusal recorded on the command", interval_s=0.2)
    error = s.record("huawei", "c-ghost")["error"]
    assert error["code"] == "100418" and error["platform"] == "huawei"
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:ghost") is None
    tasks = [c for c in emu.client.calls("huawei") if c["path"] == CANCEL_TASKS]
    assert len(tasks) == 1


def test_supersede_revokes_the_older_command_at_once(stack, emu):
    emu.client.add_device("huawei", "sup-dev", wake_period_s=0)
    s = stack(SUPERSEDE="1", STALE_AFTER_S="3600", RECONCILE_AFTER_S="3600")
    old = create(s, "sup-dev")
    other = create(s, "sup-dev", method="RESET")
    new = create(s, "sup-dev")
    assert s.record("huawei", new)["replaces"] == old
    wait_until(lambda: s.record("huawei", old)["state"] == "CANCELED", 30,
               "the superseded command revoked", interval_s=0.2)
    assert s.record("huawei", old)["replaced_by"] == new
    assert truth_status(emu, old) == "CANCELED"
    assert truth_status(emu, new) == "PENDING" and truth_status(emu, other) == "PENDING"

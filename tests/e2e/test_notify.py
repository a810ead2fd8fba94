"""Outbound webhooks end to end: real web, worker and clock processes, the emulator, and a real
HTTP subscriber that verifies every delivery with `standardwebhooks`.

Given commands on both platforms whose callbacks are dropped, duplicated and reordered, a
subscriber that answers 503 for a while and a worker killed with SIGKILL mid-delivery, every
command's final state reaches the subscriber, each command's events in order; a replay since
a time sends them again; and every change in a record has its event in the feed.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

from standardwebhooks.webhooks import Webhook

from cmdkeeper.clock import ms_to_iso
from dev.procs import start_worker, wait_until
from platforms.huawei_vocab import STATES as HUAWEI
from platforms.onenet_vocab import onenet_state
from store import feed
from store.model import RANK, State
from tests.e2e.conftest import ONENET_PUSH_TOKEN
from tests.emulator.helpers import Receiver

HUAWEI_DEVICES = [f"notify-h{i}" for i in range(4)]
ONENET_DEVICES = [f"8699750312400{i:02d}" for i in range(3)]


def create(stack, platform: str, device: str) -> str:
    if platform == "huawei":
        body = {"platform": "huawei", "device_id": device, "service_id": "Valve",
                "method": "SET", "paras": {"open": 1}}
    else:
        body = {"platform": "onenet", "device_id": device, "method": "WRITE",
                "paras": {"obj_id": 3311, "obj_inst_id": 0, "mode": 1,
                          "data": [{"res_id": 5850, "val": True}]}}
    r = stack.api("POST", "/commands", json=body)
    assert r.status_code == 201, r.text
    return r.json()["command_id"]


def truth(emu, platform: str, command_id: str) -> State:
    t = emu.client.command(platform, command_id)
    if platform == "huawei":
        return HUAWEI[t["status"]]
    return onenet_state(t["status"], t["confirm_status"])


def received(receiver: Receiver, secret: str) -> list[dict]:
    """Every delivery, verified as the application does (it raises if one does not verify),
    once per webhook-id, in arrival order."""
    seen, out = set(), []
    for post in receiver.posts("/hook"):
        if post.status != 200:
            continue
        data = Webhook(secret).verify(post.body, post.headers)["data"]
        if data["id"] not in seen:
            seen.add(data["id"])
            out.append(data)
    return out


def test_every_change_reaches_the_subscriber_in_order_through_faults(stack, emu, redis_client):
    receiver = Receiver()
    try:
        s = stack(NOTIFY_ALLOW_INSECURE="1", STALE_AFTER_S="3600", RECONCILE_AFTER_S="3")
        emu.client.set_onenet_push(s.url + "/webhooks/onenet", ONENET_PUSH_TOKEN)
        for device in HUAWEI_DEVICES:
            emu.client.add_device("huawei", device, wake_period_s=0)
        for device in ONENET_DEVICES:
            emu.client.add_device("onenet", device, wake_period_s=0)
        sub = s.api("POST", "/subscriptions", json={"url": receiver.url + "/hook"}).json()
        secret = sub["secret"]
        t0_ms = int(time.time() * 1000)

        # the subscriber is down at first; callbacks are lost, repeated and reordered
        receiver.statuses.extend([503] * 3)
        emu.client.set_faults(drop_p=0.3, duplicate_p=0.3, reorder_p=0.3, reorder_hold_s=2)
        commands = [("huawei", create(s, "huawei", d)) for d in HUAWEI_DEVICES for _ in (1, 2)]
        commands += [("onenet", create(s, "onenet", d)) for d in ONENET_DEVICES for _ in (1, 2)]
        for device in HUAWEI_DEVICES:
            emu.client.wake("huawei", device)
        for device in ONENET_DEVICES:
            emu.client.wake("onenet", device)
        emu.client.advance(120)

        # a worker killed while a slow subscriber holds a delivery open
        receiver.delay_s = 1.0
        wait_until(lambda: len(receiver.posts("/hook")) >= 8, 60, "deliveries under way")
        worker = next(p for p in s.procs if "dramatiq" in " ".join(p.proc.args))
        worker.kill()
        s.procs.remove(worker)
        receiver.delay_s = 0.0
        s.procs.append(start_worker(s.env, threads=4, log=s.log_dir / "worker-2.log"))
        emu.client.flush()

        finals = {c: truth(emu, p, c) for p, c in commands}
        assert all(state.terminal for state in finals.values())

        def all_final_states_arrived() -> bool:
            last = {e["command_id"]: e["state"] for e in received(receiver, secret)}
            return all(last.get(c) == state.value for c, state in finals.items())

        wait_until(all_final_states_arrived, 120, "every final state delivered", interval_s=0.5)

        by_command = defaultdict(list)
        for event in received(receiver, secret):
            by_command[event["command_id"]].append(event)
        for command_id, events in by_command.items():
            order = [(e["attempt"], RANK[State(e["state"])]) for e in events]
            assert order == sorted(order) and len(set(order)) == len(order), (command_id, events)
            assert events[0]["previous_state"] is None and events[0]["state"] == "PENDING"
            for before, after in zip(events, events[1:], strict=False):
                assert after["previous_state"] == before["state"]

        # every change the records show has its event in the feed, and no more
        changes = 0
        for platform, command_id in commands:
            timeline = s.record(platform, command_id)["timeline"]
            states = [e["state"] for e in timeline if e["applied"]]
            changes += sum(1 for a, b in zip([None, *states], states, strict=False) if a != b)
        feed_events = [e for e in feed.read(redis_client, None, 10_000)
                       if e.command_id in finals]
        assert len(feed_events) == changes

        # a replay since the start sends it all again, in the same order
        delivered_once = len(received(receiver, secret))
        receiver.reset()
        replay = s.api("POST", f"/subscriptions/{sub['id']}/replay",
                       json={"since": ms_to_iso(t0_ms - 1000)})
        assert replay.status_code == 202
        wait_until(lambda: len(received(receiver, secret)) >= delivered_once, 60,
                   "the replay delivered")
        assert [e["id"] for e in received(receiver, secret)][:delivered_once] == sorted(
            (e.id for e in feed_events), key=feed.id_key)[:delivered_once]
        health = s.api("GET", f"/subscriptions/{sub['id']}").json()
        assert health["enabled"] and health["failing_since"] is None
        assert json.loads(receiver.posts("/hook")[0].body)["type"] == "command.state_changed"
    finally:
        receiver.stop()

"""`listen`: a temporary subscription to this terminal, each delivery verified and printed, and
the subscription removed on exit."""

from __future__ import annotations

import time

import requests

from cli.listen import Listener
from cli.session import Session
from notify.client import Sender
from store.commands import NewCommand
from store.subscriptions import SubscriptionStore
from workers.notify import Deliverer


def test_deliveries_are_verified_printed_and_the_subscription_removed(redis_url, redis_client,
                                                                      store):
    printed: list[str] = []
    listener = Listener(Session(env={"REDIS_URL": redis_url}), "127.0.0.1", 0, (),
                        echo=printed.append)
    listener.start()
    subs = SubscriptionStore(redis_client)
    try:
        sub = subs.get(listener.subscription_id)
        assert sub.local and sub.url == listener.url
        now = int(time.time() * 1000)
        store.create_command(NewCommand(
            platform="huawei", device_id="valve-1", command_id="c1", service_id="Valve",
            method="SET", paras={}, created_ms=now, stale_at_ms=now + 60_000))

        # the workers' delivery, with the guard on: a local subscription may still be reached
        Deliverer(subs, Sender(allow_insecure=False), lambda: int(time.time() * 1000),
                  retry_for_s=60, events_retain_s=3600).run(sub.id)

        assert len(printed) == 1 and "huawei:valve-1  c1  new -> PENDING  (api)" in printed[0]
        forged = requests.post(listener.url, data='{"data": {}}', timeout=5, headers={
            "webhook-id": "1-0", "webhook-timestamp": str(int(time.time())),
            "webhook-signature": "v1,Zm9yZ2Vk"})
        assert forged.status_code == 400 and "does not verify" in printed[-1]
    finally:
        listener.stop()
    assert subs.get(sub.id) is None and subs.list() == []

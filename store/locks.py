"""Locks held by an owner with a TTL: only the owner renews or releases its lock.

`OwnedLock` is the one primitive; it serves the clock's leadership, the token login and the
per-device locks. Per-device locks let a bulk cancel and a command creation on the same device
exclude each other: a bulk cancel (Huawei cancel task, OneNET cancel-all) takes every undelivered
command of the device, and a command created meanwhile would be cancelled with the stale ones.
So creation holds the device's lock while it calls the platform, and a bulk cancel runs only
while it holds the lock (until the task has finished); a revocation that cannot get it cancels
one by one instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from store import keys
from store.script_calls import Scripts


class OwnedLock:
    """A lock on one key; every call names its owner."""

    def __init__(self, client: redis.Redis, key: str, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client, self.key, self.sleep = client, key, sleep
        self.scripts = Scripts(client)

    def acquire(self, owner: str, ttl_ms: int) -> bool:
        return bool(self.client.set(self.key, owner, nx=True, px=ttl_ms))

    def acquire_waiting(self, owner: str, ttl_ms: int, max_wait_s: float,
                        poll_s: float = 0.05) -> bool:
        deadline = time.monotonic() + max_wait_s
        while not self.acquire(owner, ttl_ms):
            if time.monotonic() > deadline:
                return False
            self.sleep(poll_s)
        return True

    def extend(self, owner: str, ttl_ms: int) -> bool:
        return bool(self.scripts.lock_extend(lock=self.key, owner=owner, ttl_ms=ttl_ms))

    def hold(self, owner: str, ttl_ms: int) -> bool:
        """Acquire, or renew when already held by this owner (leadership)."""
        return self.extend(owner, ttl_ms) or self.acquire(owner, ttl_ms)

    def release(self, owner: str) -> bool:
        return bool(self.scripts.lock_release(lock=self.key, owner=owner))


class DeviceLocks:
    """The per-device locks, addressed by platform and device id."""

    def __init__(self, client: redis.Redis, *, sleep: Callable[[float], None] = time.sleep):
        self.client, self.sleep = client, sleep

    def _lock(self, platform: str, device_id: str) -> OwnedLock:
        return OwnedLock(self.client, keys.device_lock(platform, device_id), sleep=self.sleep)

    def acquire(self, platform: str, device_id: str, owner: str, ttl_ms: int) -> bool:
        return self._lock(platform, device_id).acquire(owner, ttl_ms)

    def acquire_waiting(self, platform: str, device_id: str, owner: str, ttl_ms: int,
                        max_wait_s: float) -> bool:
        return self._lock(platform, device_id).acquire_waiting(owner, ttl_ms, max_wait_s)

    def extend(self, platform: str, device_id: str, owner: str, ttl_ms: int) -> bool:
        return self._lock(platform, device_id).extend(owner, ttl_ms)

    def release(self, platform: str, device_id: str, owner: str) -> bool:
        return self._lock(platform, device_id).release(owner)

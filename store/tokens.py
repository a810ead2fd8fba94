"""The shared access token of a platform app, in Redis, with the lock that lets one process at a
time log in (Huawei keeps only the most recently issued token valid)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from store import keys
from store.locks import OwnedLock
from store.script_calls import Scripts


@dataclass(frozen=True)
class StoredToken:
    access_token: str
    expires_at_ms: int
    refresh_token: str = ""
    lifetime_ms: int = 0


class TokenStore:
    def __init__(self, client: redis.Redis, name: str) -> None:
        self.client = client
        self.key = keys.platform_token(name)
        self.scripts = Scripts(client)
        self._login = OwnedLock(client, keys.platform_token_lock(name))

    def get(self) -> StoredToken | None:
        raw = self.client.hgetall(self.key)
        if not raw.get("access_token"):
            return None
        return StoredToken(raw["access_token"], int(raw["expires_at_ms"]),
                           raw.get("refresh_token", ""), int(raw.get("lifetime_ms") or 0))

    def put(self, token: StoredToken, ttl_ms: int) -> None:
        with self.client.pipeline() as pipe:
            pipe.hset(self.key, mapping={"access_token": token.access_token,
                                         "expires_at_ms": token.expires_at_ms,
                                         "refresh_token": token.refresh_token,
                                         "lifetime_ms": token.lifetime_ms})
            pipe.pexpire(self.key, max(ttl_ms, 1))
            pipe.execute()

    def discard(self, access_token: str) -> bool:
        """Forget the token if it is still the current one (so only one process re-logs in)."""
        return bool(self.scripts.token_discard(token=self.key, access_token=access_token))

    def lock(self, holder: str, ttl_ms: int) -> bool:
        return self._login.acquire(holder, ttl_ms)

    def unlock(self, holder: str) -> None:
        self._login.release(holder)

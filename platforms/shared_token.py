"""One access token shared by every process of a platform app.

Huawei keeps only the most recently issued token valid, so processes that logged in on their own
would knock each other out. Here the token lives in Redis; when it is missing or close to expiry,
exactly one process (holding a lock) logs in or refreshes, and the others wait for its result.
After a 1010005 answer a caller `invalidate()`s the token it used: only the first such call
forgets it, so one re-login follows, not one per process.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.metric_names import TOKEN_RENEWALS
from platforms.errors import PermanentError, RetryableError
from store.tokens import StoredToken, TokenStore

log = logging.getLogger(__name__)

#: Renew this long before the token expires (libiocm renews 10 min early; go-oceanconnect 5).
REFRESH_MARGIN_S = 300
#: How long a login may hold the lock, and how long others wait for it.
LOGIN_LOCK_MS = 20_000
WAIT_POLL_S = 0.05


@dataclass(frozen=True)
class IssuedToken:
    """A token as the platform issued it."""

    access_token: str
    expires_in_s: int
    refresh_token: str = ""


class SharedToken:
    def __init__(self, store: TokenStore, login: Callable[[], IssuedToken],
                 refresh: Callable[[str], IssuedToken] | None = None, *,
                 clock: Clock = system_clock, sleep: Callable[[float], None] = time.sleep,
                 refresh_margin_s: int = REFRESH_MARGIN_S, platform: str = "huawei") -> None:
        self.store, self.login, self.refresh = store, login, refresh
        self.clock, self.sleep = clock, sleep
        self.margin_ms = refresh_margin_s * 1000
        self.platform = platform
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"

    def get(self) -> str:
        """A valid access token, logging in (once, across all processes) when needed."""
        deadline = time.monotonic() + LOGIN_LOCK_MS / 1000
        while True:
            current = self.store.get()
            now = self.clock()
            if current and now < self._renew_at(current):
                return current.access_token
            if self.store.lock(self.holder, LOGIN_LOCK_MS):
                try:
                    return self._renew(now)
                finally:
                    self.store.unlock(self.holder)
            if current and now < current.expires_at_ms:
                return current.access_token  # still valid while another process renews it
            if time.monotonic() > deadline:
                raise RetryableError(self.platform, "token_wait",
                                     "another process is logging in and has not finished")
            self.sleep(WAIT_POLL_S)

    def _renew(self, now: int) -> str:
        current = self.store.get()
        if current and now < self._renew_at(current):
            return current.access_token  # renewed by another process meanwhile
        issued = None
        if current and current.refresh_token and self.refresh is not None:
            try:
                issued = self.refresh(current.refresh_token)
                TOKEN_RENEWALS.inc(platform=self.platform, kind="refresh")
            except PermanentError as e:
                log.info("token refresh refused (%s); logging in again", e.code)
        if issued is None:
            issued = self.login()
            TOKEN_RENEWALS.inc(platform=self.platform, kind="login")
        ttl_ms = issued.expires_in_s * 1000
        self.store.put(StoredToken(issued.access_token, self.clock() + ttl_ms,
                                   issued.refresh_token, ttl_ms), ttl_ms)
        return issued.access_token

    def _renew_at(self, token: StoredToken) -> int:
        # A short-lived token is renewed at nine tenths of its life, not `margin` before its end
        # (which could be before it was issued).
        margin = min(self.margin_ms, token.lifetime_ms // 10) if token.lifetime_ms else \
            self.margin_ms
        return token.expires_at_ms - margin

    def invalidate(self, access_token: str) -> None:
        self.store.discard(access_token)

"""One token for every process: a single login, proactive renewal, invalidation once."""

from __future__ import annotations

import threading

from platforms.shared_token import REFRESH_MARGIN_S, IssuedToken, SharedToken
from store.tokens import TokenStore


class Platform:
    """Issues numbered tokens and counts logins (a stand-in for the platform's login call)."""

    def __init__(self, ttl_s: int = 3600) -> None:
        self.logins = 0
        self.ttl_s = ttl_s
        self.lock = threading.Lock()

    def login(self) -> IssuedToken:
        with self.lock:
            self.logins += 1
            return IssuedToken(f"tok{self.logins}", self.ttl_s)


def test_many_processes_share_one_login(redis_client, clock):
    platform = Platform()
    tokens = [SharedToken(TokenStore(redis_client, "hw"), platform.login, clock=clock)
              for _ in range(5)]
    results = []
    threads = [threading.Thread(target=lambda t=t: results.append(t.get())) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert platform.logins == 1 and set(results) == {"tok1"}


def test_renewed_before_expiry(redis_client, clock):
    platform = Platform(ttl_s=3600)
    shared = SharedToken(TokenStore(redis_client, "hw"), platform.login, clock=clock)
    assert shared.get() == "tok1"
    clock.advance(3600 - REFRESH_MARGIN_S - 1)
    assert shared.get() == "tok1"
    clock.advance(2)
    assert shared.get() == "tok2" and platform.logins == 2


def test_invalidation_by_many_callers_causes_one_relogin(redis_client, clock):
    platform = Platform()
    a = SharedToken(TokenStore(redis_client, "hw"), platform.login, clock=clock)
    b = SharedToken(TokenStore(redis_client, "hw"), platform.login, clock=clock)
    used = a.get()
    a.invalidate(used)
    fresh = a.get()
    b.invalidate(used)  # late: the token it saw fail is already replaced
    assert b.get() == fresh == "tok2" and platform.logins == 2


def test_refresh_is_used_when_a_refresh_token_exists(redis_client, clock):
    platform = Platform()
    refreshed = []
    shared = SharedToken(
        TokenStore(redis_client, "hw"), lambda: IssuedToken("tok-login", 3600, "r1"),
        refresh=lambda r: refreshed.append(r) or IssuedToken("tok-refreshed", 3600, "r2"),
        clock=clock)
    assert shared.get() == "tok-login"
    clock.advance(3600)
    assert shared.get() == "tok-refreshed" and refreshed == ["r1"]
    assert platform.logins == 0


def test_a_short_lived_token_is_used_for_most_of_its_life(redis_client, clock):
    platform = Platform(ttl_s=60)  # shorter than the renewal margin
    shared = SharedToken(TokenStore(redis_client, "hw"), platform.login, clock=clock)
    assert shared.get() == "tok1"
    clock.advance(50)
    assert shared.get() == "tok1" and platform.logins == 1
    clock.advance(5)
    assert shared.get() == "tok2"

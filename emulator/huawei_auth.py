"""Huawei v1 errors and app authentication: login, refresh, logout and the token check.

Only the most recently issued accessToken is valid (docs/platforms.md, "Huawei: authentication"):
each login or refresh
replaces it, so a second client logging in knocks the first one out with 403/1010005. Token
lifetimes run on the emulated clock; the TTL of new tokens is the run-time fault `token_ttl_s`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.engine import Rngs

#: error_code -> (HTTP status, error_desc) as the emulator answers them (docs/platforms.md,
#: "Huawei: errors").
ERRORS = {
    "1010005": (403, "Invalid access token or appId."),
    "1010009": (403, "app throttle exceed."),
    "100022": (400, "The input is invalid."),
    "100025": (401, "AppId for auth not exist."),
    "100206": (400, "The refreshToken is invalid."),
    "100208": (400, "AppId or secret is not right."),
    "100217": (403, "The application hasn't been authorized."),
    "100223": (400, "Command counts has reached the upLimit."),
    "100418": (404, "The deviceData is not existed."),
    "101001": (404, "Resource doesn't exist."),
    "100501": (503, "Congestion occurs, and the current network has been flow-controlled."),
    "50252": (500, "Internal server error."),
}


class HuaweiError(Exception):
    """Raised by the Huawei emulation to answer `{"error_code", "error_desc"}`."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        self.status, desc = ERRORS[code]
        self.code = code
        self.desc = f"{desc} {detail}" if detail else desc
        super().__init__(f"{code}: {self.desc}")

    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "error_desc": self.desc}


@dataclass
class Token:
    access: str
    refresh: str
    expires_ms: int
    refresh_expires_ms: int


class Tokens:
    """The one valid token of the configured app."""

    def __init__(self, app_id: str, secret: str, refresh_ttl_s: int, rngs: Rngs) -> None:
        self.app_id, self.secret, self.rngs = app_id, secret, rngs
        self.refresh_ttl_s = refresh_ttl_s
        self.current: Token | None = None
        self.logins = 0

    def login(self, app_id: str | None, secret: str | None, now_ms: int,
              ttl_s: int) -> dict[str, Any]:
        if not app_id or not secret:
            raise HuaweiError("100022", "appId and secret are form fields")
        if app_id != self.app_id or secret != self.secret:
            raise HuaweiError("100208")
        self.logins += 1
        return self._issue(now_ms, ttl_s)

    def refresh(self, body: Any, now_ms: int, ttl_s: int) -> dict[str, Any]:
        if not isinstance(body, dict) or not all(
                isinstance(body.get(k), str) and body.get(k)
                for k in ("appId", "secret", "refreshToken")):
            raise HuaweiError("100022", "appId, secret and refreshToken are required (JSON)")
        if body["appId"] != self.app_id or body["secret"] != self.secret:
            raise HuaweiError("100208")
        token = self.current
        if token is None or body["refreshToken"] != token.refresh \
                or now_ms >= token.refresh_expires_ms:
            raise HuaweiError("100206")
        return self._issue(now_ms, ttl_s)

    def logout(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("accessToken"), str):
            raise HuaweiError("100022", "accessToken is required (JSON)")
        if self.current and body["accessToken"] == self.current.access:
            self.current = None

    def _issue(self, now_ms: int, ttl_s: int) -> dict[str, Any]:
        self.current = Token(self.rngs.token(), self.rngs.token(), now_ms + ttl_s * 1000,
                             now_ms + self.refresh_ttl_s * 1000)
        return {"accessToken": self.current.access, "tokenType": "bearer",
                "refreshToken": self.current.refresh, "expiresIn": ttl_s, "scope": "default"}

    def check(self, app_key: str, authorization: str, now_ms: int) -> None:
        """Raises 403/1010005 unless the bearer token is the current, unexpired one of app_key."""
        scheme, _, given = authorization.partition(" ")
        token = self.current
        if (app_key != self.app_id or scheme.lower() != "bearer" or token is None
                or given.strip() != token.access or now_ms >= token.expires_ms):
            raise HuaweiError("1010005")

    def expire(self, now_ms: int) -> None:
        """Let the current token run out now (a control action)."""
        if self.current is not None:
            self.current.expires_ms = min(self.current.expires_ms, now_ms)

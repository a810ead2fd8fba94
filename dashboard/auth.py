"""Who may see the dashboard: a request with the API token as a bearer token, or with the login
cookie. The cookie holds its expiry and an HMAC-SHA256 of it keyed with the token, never the
token: it is useless anywhere else, a copied cookie dies at its expiry, and changing the token
signs every browser out. Every comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac

from flask import Request

from web.http import bearer_token, tokens_match

COOKIE = "cmdkeeper_session"
#: A login lasts this long (seconds); the expiry is inside the signed value, not only the
#: browser's to honour.
COOKIE_MAX_AGE_S = 12 * 3600
_PURPOSE = "cmdkeeper-dashboard-v1"


def _signature(api_token: str, expires_s: int) -> str:
    message = f"{_PURPOSE}:{expires_s}".encode()
    return hmac.new(api_token.encode("utf-8", "surrogatepass"), message,
                    hashlib.sha256).hexdigest()


def session_value(api_token: str, now_ms: int) -> str:
    """The cookie's value for a login at `now_ms`: `<expiry, epoch s>.<signature>`."""
    expires_s = now_ms // 1000 + COOKIE_MAX_AGE_S
    return f"{expires_s}.{_signature(api_token, expires_s)}"


def session_valid(value: str, api_token: str, now_ms: int) -> bool:
    expires, _, signature = value.partition(".")
    if not (expires.isascii() and expires.isdigit()) or len(expires) > 12 or not api_token:
        return False
    if not tokens_match(signature, _signature(api_token, int(expires))):
        return False
    return int(expires) * 1000 > now_ms


def is_signed_in(request: Request, api_token: str, now_ms: int) -> bool:
    given = bearer_token(request)
    if given:
        return tokens_match(given, api_token)
    cookie = request.cookies.get(COOKIE)
    return bool(cookie) and session_valid(cookie, api_token, now_ms)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and not any(ord(c) < 32 for c in target):
        return target
    return "/"

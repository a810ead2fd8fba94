"""Who may see the dashboard: a request with the API token as a bearer token, or with the login
cookie. The cookie holds an HMAC of the token, never the token: it is useless anywhere else, and
changing the token signs every browser out."""

from __future__ import annotations

import hashlib
import hmac

from flask import Request

from cmdkeeper.http import tokens_match

COOKIE = "cmdkeeper_session"
#: Browsers keep the login this long (seconds).
COOKIE_MAX_AGE_S = 12 * 3600
_PURPOSE = b"cmdkeeper-dashboard-v1"


def session_value(api_token: str) -> str:
    return hmac.new(api_token.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def is_signed_in(request: Request, api_token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and tokens_match(header[len("Bearer "):], api_token):
        return True
    cookie = request.cookies.get(COOKIE)
    return bool(cookie) and tokens_match(cookie, session_value(api_token))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/"

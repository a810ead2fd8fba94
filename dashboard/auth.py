"""Who may see the dashboard: a request with the API token as a bearer token, or with the login
cookie. The cookie holds its expiry and an HMAC-SHA256 of it keyed with the token, never the
token: it is useless anywhere else, a copied cookie dies at its expiry, and changing the token
signs every browser out. Every comparison is constant-time.

Every POST from a signed-in browser carries a CSRF token of its session: an HMAC of the session
cookie's value keyed with the API token, put in each form (`csrf_token`) and checked before the
view runs (`csrf_ok`). The cookie is SameSite=Strict already; the token is the second lock, for
a browser that ignores SameSite, or a page of this site tricked into posting. A request signed
with the bearer token needs none: no browser sends that header by itself."""

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
_CSRF_PURPOSE = "cmdkeeper-dashboard-csrf-v1"
#: The form field every dashboard POST carries.
CSRF_FIELD = "csrf_token"


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


def csrf_token(api_token: str, session: str) -> str:
    """The CSRF token of the session whose cookie value is `session`."""
    message = f"{_CSRF_PURPOSE}:{session}".encode("utf-8", "surrogatepass")
    return hmac.new(api_token.encode("utf-8", "surrogatepass"), message,
                    hashlib.sha256).hexdigest()


def csrf_ok(request: Request, api_token: str) -> bool:
    """Whether a POST may go on: it is signed with the bearer token, or it carries the CSRF
    token of the session it comes with."""
    if bearer_token(request):
        return tokens_match(bearer_token(request), api_token)
    session = request.cookies.get(COOKIE, "")
    given = request.form.get(CSRF_FIELD, "")
    return bool(session and given) and tokens_match(given, csrf_token(api_token, session))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and not any(ord(c) < 32 for c in target):
        return target
    return "/"

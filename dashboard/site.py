"""What every dashboard page shares: the blueprint, sign-in and CSRF checks, the headers (a
Content-Security-Policy that allows only this site's own script), rendering, and HTML error
pages for browsers.

The pages work without script; `static/live.js` (the only script, served from here) refreshes
them in place, ticks their countdowns and carries the live / paused toggle.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, make_response, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import MethodNotAllowed, NotFound

from dashboard import auth
from dashboard.timefmt import relative, wall_near
from store.model import PLATFORMS
from web.http import error_response
from web.services import services

log = logging.getLogger("cmdkeeper.dashboard")

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/dashboard")

PUBLIC_ENDPOINTS = ("dashboard.login", "dashboard.static")
#: Scripts and fetches only from this site, styles only inline, forms only to this site: an
#: injected tag can do nothing, and the pages cannot reach anything but cmdkeeper.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; connect-src 'self'; "
                           "style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")
#: Seconds between two refreshes of a live page.
LIVE_EVERY_S = 5
#: Paths whose errors stay JSON whoever asks: the API, the webhooks, the scrapers'.
JSON_PREFIXES = ("/api/", "/webhooks/", "/metrics", "/healthz")


def render(template: str, status: int = 200, *, live: bool = False, **context):
    """A page; `live` pages refresh themselves every LIVE_EVERY_S (static/live.js)."""
    svc = services()
    now = svc.clock()
    session = request.cookies.get(auth.COOKIE, "")
    token = auth.csrf_token(svc.config.api_token, session) if session else ""
    return make_response(render_template(
        template, now=now, platforms=PLATFORMS, live_every_s=LIVE_EVERY_S if live else 0,
        signed_in=auth.is_signed_in(request, svc.config.api_token, now),
        csrf=Markup(f'<input type="hidden" name="{auth.CSRF_FIELD}" value="{token}">'),
        at=lambda ms: wall_near(ms, now) if ms else "—",
        ago=lambda ms: _ticking(ms, now) if ms else "",
        when=lambda ms: _when(ms, now) if ms else "—",
        **context), status)


def _ticking(ms: int, now: int) -> Markup:
    """`in 40 s` in an element live.js recomputes every second."""
    return Markup('<time class="rel" data-ms="{}">{}</time>').format(int(ms), relative(ms, now))


def _when(ms: int, now: int) -> Markup:
    """`12:18:05 UTC (in 40 s)`, the relative part ticking."""
    return Markup("{} ({})").format(wall_near(ms, now), _ticking(ms, now))


@bp.before_request
def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    svc = services()
    if not auth.is_signed_in(request, svc.config.api_token, svc.clock()):
        if request.method != "GET":
            return refused(401, "Signed out", "Sign in again, then repeat what you did.")
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    if request.method == "POST" and not auth.csrf_ok(request, svc.config.api_token):
        log.warning("dashboard: POST %s refused: no valid CSRF token (from %s)", request.path,
                    request.remote_addr)
        return refused(403, "Refused", "This form's security token is missing or does not "
                                       "belong to your session (a form from another site, or "
                                       "from before you signed in again). Nothing was done. "
                                       "Open the page again and repeat it from there.")
    return None


def refused(status: int, heading: str, message: str):
    return render("not_found.html", status, heading=heading, message=message)


@bp.after_request
def page_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(redis.RedisError)
def storage_down(e: redis.RedisError):
    # a page, not the API's JSON 503, for the operator's browser
    log.warning("dashboard: Redis unavailable: %s", type(e).__name__)
    response = render("not_found.html", 503, heading="Redis is unavailable",
                      message="cmdkeeper cannot reach its Redis right now; this page works "
                              "again as soon as Redis is back.")
    response.headers["Retry-After"] = "5"
    return response


def wants_html() -> bool:
    """A browser's request outside the API: it prefers HTML to JSON."""
    if request.path.startswith(JSON_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > \
        request.accept_mimetypes["application/json"]


@bp.app_errorhandler(NotFound)
def not_found(e: NotFound):
    """Any unknown path: a page for a browser, the API's JSON error for anything else."""
    if not wants_html():
        return error_response(404, "not_found", e.description or "not found")
    response = render("not_found.html", 404, heading="Nothing here",
                      message=f"There is no page at {request.path}.")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@bp.app_errorhandler(MethodNotAllowed)
def not_allowed(e: MethodNotAllowed):
    if not wants_html():
        response = error_response(405, "method_not_allowed", e.description or "not allowed")
    else:
        response = render("not_found.html", 405, heading="Not allowed",
                          message=f"{request.method} is not how {request.path} is used.")
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    for name, value in e.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response

"""The dashboard's routes: sign-in, the fleet summary at `/`, and a device's commands.

Server-rendered, no JavaScript, nothing loaded from elsewhere (the Content-Security-Policy says
so to the browser too). Each page is two Redis round trips (the device page: redis-py's check
that the listing script is loaded, then one pipeline; the fleet page: the statistics, then the
attention list), three when the fleet page lists stale commands (their devices).
"""

from __future__ import annotations

import logging

import redis
from flask import (
    Blueprint,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from dashboard import auth
from dashboard.alarms import callback_alarms
from dashboard.timefmt import relative, wall_near, when
from dashboard.why import OPEN_STATES, OVERDUE_SWEEPS, why_stuck
from store.attention import read_attention
from store.device_view import read_device
from store.model import PLATFORMS, State
from store.stats import read_fleet_stats
from store.subscriptions import SubscriptionStore, backlog
from web.services import services

log = logging.getLogger("cmdkeeper.dashboard")

bp = Blueprint("dashboard", __name__, template_folder="templates")

STATES = tuple(s.value for s in State)
#: Rows in each list of the fleet page.
ATTENTION_LIMIT = 15
#: Commands shown on a device page (the newest).
DEVICE_COMMANDS_LIMIT = 50
PUBLIC_ENDPOINTS = ("dashboard.login",)
#: No script at all, styles only inline, forms only to this site: an injected tag can do
#: nothing, and the pages cannot reach anything but cmdkeeper.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _render(template: str, status: int = 200, **context):
    now = services().clock()
    return make_response(render_template(
        template, now=now, platforms=PLATFORMS,
        at=lambda ms: wall_near(ms, now) if ms else "—",
        ago=lambda ms: relative(ms, now) if ms else "",
        when=lambda ms: when(ms, now) if ms else "—",
        **context), status)


@bp.before_request
def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    svc = services()
    if auth.is_signed_in(request, svc.config.api_token, svc.clock()):
        return None
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


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
    response = _render("not_found.html", 503, heading="Redis is unavailable",
                       message="cmdkeeper cannot reach its Redis right now; this page works "
                               "again as soon as Redis is back.")
    response.headers["Retry-After"] = "5"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    svc = services()
    config, now = svc.config, svc.clock()
    target = auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        if auth.is_signed_in(request, config.api_token, now):
            return redirect(target)
        return _render("login.html", next=target, error=None)
    if not auth.tokens_match(request.form.get("token", ""), config.api_token):
        log.warning("dashboard sign-in refused: wrong token (from %s)", request.remote_addr)
        return _render("login.html", 401, next=target, error="That is not the API token.")
    log.info("dashboard sign-in (from %s)", request.remote_addr)
    response = redirect(target)
    response.set_cookie(auth.COOKIE, auth.session_value(config.api_token, now),
                        max_age=auth.COOKIE_MAX_AGE_S, httponly=True, samesite="Strict",
                        secure=_is_https())
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    response = redirect(url_for("dashboard.login"))
    response.delete_cookie(auth.COOKIE, httponly=True, samesite="Strict", secure=_is_https())
    return response


def _is_https() -> bool:
    return request.is_secure or request.headers.get("X-Forwarded-Proto", "") == "https"


@bp.route("/")
def fleet():
    svc = services()
    now = svc.clock()
    client = svc.store.client
    # (no flush of this process's counting first, unlike /metrics: its flusher adds it within
    # METRICS_FLUSH_S, and the page stays at two round trips)
    stats = read_fleet_stats(client, now)
    overdue_ms = OVERDUE_SWEEPS * svc.config.sweep_interval_s * 1000
    attention = read_attention(client, now, limit=ATTENTION_LIMIT, overdue_ms=overdue_ms)
    totals = {p: sum(stats.by_state.get(p, {}).values()) for p in PLATFORMS}
    return _render("fleet.html", stats=stats, states=STATES, totals=totals,
                   attention=attention, overdue_ms=overdue_ms, alarms=callback_alarms(stats))


@bp.route("/subscriptions")
def subscriptions():
    client = services().store.client
    subs = SubscriptionStore(client).list()
    return _render("subscriptions.html", subscriptions=subs, backlog=backlog(client),
                   disabled=[s for s in subs if not s.enabled])


@bp.route("/devices")
def find_device():
    platform = request.args.get("platform", "")
    device_id = request.args.get("device_id", "").strip()
    if platform not in PLATFORMS or not device_id:
        return _render("not_found.html", 400, message="Choose a platform and type a device id.")
    return redirect(url_for("dashboard.device", platform=platform, device_id=device_id))


@bp.route("/devices/<platform>/<path:device_id>")
def device(platform: str, device_id: str):
    if platform not in PLATFORMS:
        return _render("not_found.html", 404, message=f"There is no platform called {platform!r}.")
    svc = services()
    now = svc.clock()
    view = read_device(svc.store, platform, device_id, limit=DEVICE_COMMANDS_LIMIT)
    if not view.commands:
        return _render("not_found.html", 404, platform=platform, device_id=device_id,
                       message=f"cmdkeeper holds no command for {platform} device "
                               f"{device_id!r}.")
    rows = [{"record": c, "why": why_stuck(c, view, svc.config, now)}
            for c in view.commands]
    return _render("device.html", platform=platform, device_id=device_id, rows=rows,
                   view=view, open_states=OPEN_STATES,
                   open_count=sum(1 for c in view.commands if c["state"] in OPEN_STATES))

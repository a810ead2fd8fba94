"""The dashboard's routes: sign-in, the fleet summary at `/`, and a device's commands.

Server-rendered, no JavaScript, no external assets; each page is one or two Redis round trips.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from cmdkeeper.metrics import flush_now
from dashboard import auth
from dashboard.timefmt import relative, wall, when
from dashboard.why import why_stuck
from store import keys
from store.device_view import read_device
from store.readers import peek_due
from store.stats import read_fleet_stats

bp = Blueprint("dashboard", __name__, template_folder="templates")

PLATFORMS = ("huawei", "onenet")
#: Devices listed under "next revocations" on the fleet page.
UPCOMING_LIMIT = 15
STATE_ORDER = ("PENDING", "SENT", "DELIVERED", "SUCCEEDED", "FAILED", "TIMEOUT", "CANCELED")
OPEN_STATES = ("PENDING", "SENT", "DELIVERED")
PUBLIC_ENDPOINTS = ("dashboard.login",)


def _services():
    return current_app.extensions["cmdkeeper"]


@bp.app_template_global()
def at(ms: int | None) -> str:
    return wall(ms) if ms else "—"


@bp.app_template_global()
def ago(ms: int | None) -> str:
    return relative(ms, _services().clock()) if ms else ""


@bp.before_request
def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if auth.is_signed_in(request, _services().config.api_token):
        return None
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target, error=None)
    config = _services().config
    if not auth.tokens_match(request.form.get("token", ""), config.api_token):
        return render_template("login.html", next=target,
                               error="That is not the API token."), 401
    response = redirect(target)
    response.set_cookie(auth.COOKIE, auth.session_value(config.api_token),
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
    services = _services()
    now = services.clock()
    flush_now(services.store.client)  # this process's own counting too, as /metrics does
    stats = read_fleet_stats(services.store.client, now)
    upcoming = peek_due(services.store.client, keys.DUE_REVOKE,
                        now + 24 * 3600 * 1000, limit=UPCOMING_LIMIT)
    totals = {p: sum(stats.by_state.get(p, {}).values()) for p in PLATFORMS}
    return render_template("fleet.html", stats=stats, states=STATE_ORDER, platforms=PLATFORMS,
                           totals=totals, upcoming=upcoming, now=now,
                           when=lambda ms: when(ms, now))


@bp.route("/devices")
def find_device():
    platform = request.args.get("platform", "")
    device_id = request.args.get("device_id", "").strip()
    if platform not in PLATFORMS or not device_id:
        return _not_found("Choose a platform and type a device id.", 400)
    return redirect(url_for("dashboard.device", platform=platform, device_id=device_id))


@bp.route("/devices/<platform>/<device_id>")
def device(platform: str, device_id: str):
    if platform not in PLATFORMS:
        return _not_found(f"There is no platform called {platform!r}.")
    services = _services()
    now = services.clock()
    view = read_device(services.store, platform, device_id)
    if not view.commands:
        return _not_found(f"cmdkeeper holds no command for {platform} device {device_id!r}.")
    sweep_s = services.config.sweep_interval_s
    rows = [{"record": c, "why": why_stuck(c, view, now, sweep_s)} for c in view.commands]
    return render_template("device.html", platform=platform, device_id=device_id, rows=rows,
                           open_states=OPEN_STATES, now=now)


def _not_found(message: str, status: int = 404):
    return make_response(render_template("not_found.html", message=message), status)

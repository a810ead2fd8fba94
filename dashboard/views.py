"""The dashboard's main pages: sign-in, the fleet at `/`, a device's commands, subscriptions.

Server-rendered; the only script is the dashboard's own `static/live.js` (dashboard/site.py),
which refreshes the live pages in place. The lists (dashboard/lists.py) and the actions
(dashboard/actions.py) register their routes on the same blueprint.

Round trips: the fleet page reads the statistics (with the last hour by minute and the last day
by five minutes) in one pipeline, then the attention list, then (when stale commands are listed)
their devices; the device page reads its device in one pipeline (after redis-py's check that the
listing script is loaded), then what operators asked of it.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from dashboard import auth
from dashboard.alarms import callback_alarms, health_alarms
from dashboard.cards import card, status_name
from dashboard.plots import colour_of, fleet_plots
from dashboard.site import bp, log, render
from dashboard.why import OPEN_STATES, OVERDUE_SWEEPS
from store import actions
from store.attention import read_attention
from store.callback_health import health
from store.device_view import read_device
from store.model import PLATFORMS, State
from store.stats import read_fleet_stats
from store.subscriptions import SubscriptionStore, backlog
from web.services import services

STATES = tuple(s.value for s in State)
#: Rows in each list of the fleet page (the list pages have the rest).
ATTENTION_LIMIT = 15
#: Commands shown on a device page (the newest).
DEVICE_COMMANDS_LIMIT = 50


@bp.route("/login", methods=["GET", "POST"])
def login():
    svc = services()
    config, now = svc.config, svc.clock()
    target = auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        if auth.is_signed_in(request, config.api_token, now):
            return redirect(target)
        return render("login.html", next=target, error=None)
    if not auth.tokens_match(request.form.get("token", ""), config.api_token):
        log.warning("dashboard sign-in refused: wrong token (from %s)", request.remote_addr)
        return render("login.html", 401, next=target, error="That is not the API token.")
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
    span = "day" if request.args.get("range") == "day" else "hour"
    # (no flush of this process's counting first, unlike /metrics: its flusher adds it within
    # METRICS_FLUSH_S, and the page stays at three round trips)
    stats = read_fleet_stats(client, now, day=True)
    overdue_ms = OVERDUE_SWEEPS * svc.config.sweep_interval_s * 1000
    attention = read_attention(client, now, limit=ATTENTION_LIMIT, overdue_ms=overdue_ms)
    totals = {p: sum(stats.by_state.get(p, {}).values()) for p in PLATFORMS}
    healths = [health(p, stats.hour, stats.day) for p in PLATFORMS]
    plots = fleet_plots(stats.day if span == "day" else stats.hour, svc.config, PLATFORMS)
    return render("fleet.html", live=True, stats=stats, states=STATES, totals=totals,
                  attention=attention, overdue_ms=overdue_ms, span=span, plots=plots,
                  plot_colour=colour_of,
                  healths=healths, alarms=callback_alarms(stats) + health_alarms(healths),
                  callbacks_hour=sum(stats.callbacks_last_hour.values()))


@bp.route("/subscriptions")
def subscriptions():
    client = services().store.client
    subs = SubscriptionStore(client).list()
    return render("subscriptions.html", live=True, subscriptions=subs, backlog=backlog(client),
                  disabled=[s for s in subs if not s.enabled])


@bp.route("/devices/<platform>/<path:device_id>")
def device(platform: str, device_id: str):
    if platform not in PLATFORMS:
        return render("not_found.html", 404, message=f"There is no platform called {platform!r}.")
    svc = services()
    now = svc.clock()
    view = read_device(svc.store, platform, device_id, limit=DEVICE_COMMANDS_LIMIT)
    if not view.commands:
        return render("not_found.html", 404, platform=platform, device_id=device_id,
                      message=f"cmdkeeper holds no command for {platform} device "
                              f"{device_id!r}.")
    asked = actions.read(svc.store.client, platform, device_id)
    cards = [card(c, view, svc.config, now, asked) for c in view.commands]
    return render("device.html", live=True, platform=platform, device_id=device_id,
                  cards=cards, view=view, open_states=OPEN_STATES, asked=asked[-10:][::-1],
                  can_act=platform in svc.gateways, done=request.args.get("done"),
                  status_name=status_name,
                  open_count=sum(1 for c in view.commands if c["state"] in OPEN_STATES),
                  pending=sum(1 for c in view.commands if c["state"] == "PENDING"),
                  stale_now=sum(1 for at in view.stale_at.values() if at <= now))


# the other pages, on the same blueprint
from dashboard import actions as _actions  # noqa: E402,F401
from dashboard import lists as _lists  # noqa: E402,F401

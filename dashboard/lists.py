"""The dashboard's lists: finding a command or a device without knowing its id.

- `/find?q=` — a command id or a device id, on any platform (one match: straight to it);
- `/commands` — recent commands across the fleet, by their last change of state, filtered by
  platform, state and origin (from the change feed: the last EVENTS_RETAIN_S);
- `/devices` — devices with open commands, by their next history re-check;
- `/stale` — stale PENDING commands, the longest stale first;
- `/stuck` — open commands that have not moved for RECONCILE_AFTER_S and that nothing will
  resolve by itself soon.

Every list is paged (store/discovery.py reads a bounded page and says where the next starts).
"""

from __future__ import annotations

from flask import redirect, request, url_for

from dashboard.cards import status_name
from dashboard.site import bp, render
from store import discovery
from store.model import PLATFORMS, State
from web.services import services

PAGE = 25
ORIGINS = ("api", "unknown")


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name, "")
    return value if value in allowed else None


def _offset() -> int:
    try:
        return max(0, min(int(request.args.get("offset", 0)), discovery.MAX_OFFSET))
    except ValueError:
        return 0


def _cursor(name: str) -> str | None:
    value = request.args.get(name, "")
    return value if value and len(value) <= 41 and value.replace("-", "").isdigit() else None


def device_url(platform: str, device_id: str, command_id: str | None = None) -> str:
    url = url_for("dashboard.device", platform=platform, device_id=device_id)
    return f"{url}#cmd-{command_id}" if command_id else url


@bp.route("/find")
def find():
    text = request.args.get("q", "").strip()
    if not text:
        return render("not_found.html", 400, heading="Find",
                      message="Type a command id or a device id in the search box.")
    matches = discovery.find(services().store.client, text)
    if len(matches) == 1:
        m = matches[0]
        return redirect(device_url(m.platform, m.device_id, m.command_id))
    return render("find.html", 200 if matches else 404, q=text, matches=matches,
                  device_url=device_url)


@bp.route("/commands")
def commands():
    platform = _choice("platform", PLATFORMS)
    state = _choice("state", tuple(s.value for s in State))
    origin = _choice("origin", ORIGINS)
    page = discovery.recent(services().store.client, platform=platform, state=state,
                            origin=origin, before=_cursor("before"), limit=PAGE)
    filters = {k: v for k, v in (("platform", platform), ("state", state), ("origin", origin))
               if v}
    return render("commands.html", live=not request.args.get("before"), page=page,
                  filters=filters, states=[s.value for s in State], origins=ORIGINS,
                  first=not request.args.get("before"), device_url=device_url,
                  status_name=status_name)


@bp.route("/devices")
def devices():
    # the search form of earlier versions: /devices?platform=&device_id=
    if request.args.get("device_id"):
        platform = request.args.get("platform", "")
        if platform not in PLATFORMS:
            return render("not_found.html", 400, message="Choose a platform.")
        return redirect(device_url(platform, request.args["device_id"].strip()))
    offset = _offset()
    page = discovery.open_devices(services().store.client, offset=offset, limit=PAGE)
    return render("devices.html", live=offset == 0, page=page, offset=offset,
                  device_url=device_url)


@bp.route("/stale")
def stale():
    svc = services()
    offset = _offset()
    page = discovery.stale(svc.store.client, svc.clock(), offset=offset, limit=PAGE)
    return render("stale.html", live=offset == 0, page=page, offset=offset)


@bp.route("/stuck")
def stuck():
    svc = services()
    quiet_ms = svc.config.reconcile_after_s * 1000
    page = discovery.stuck(svc.store.client, svc.clock(), quiet_ms, after=_cursor("after"),
                           limit=PAGE)
    return render("stuck.html", live=not request.args.get("after"), page=page,
                  quiet_s=svc.config.reconcile_after_s, first=not request.args.get("after"),
                  device_url=device_url, status_name=status_name)

"""Acting from the dashboard: revoke a device's stale (or every PENDING) command, re-check its
history, replay a dead letter.

Each action is two steps: a GET that says exactly what will happen (the commands a revocation
would cancel, the verdict of a dead letter's re-check) with a form to confirm it, and the
confirming POST, which carries the session's CSRF token (checked in dashboard/site.py before the
view runs) and `confirm=yes`. The work is then what the API or the CLI would do: a job for the
workers (revoke, reconcile), or the replay the CLI's `dead-letters replay` does
(workers/replay.py). Each is noted on the device with who asked (store/actions.py: the device's
timelines show it), a revocation's job carries `dashboard` so the cancelled record says so too.
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for

from dashboard.lists import device_url
from dashboard.site import bp, log, refused, render
from store import actions
from store.model import PLATFORMS
from store.readers import device_known
from web.services import services
from workers import actors, broker, replay

BY = "dashboard"


def _device(platform: str, device_id: str):
    """The device an action is about: 404 for a platform or device cmdkeeper does not know,
    a page saying why when the platform is not configured (nothing could be done)."""
    svc = services()
    if platform not in PLATFORMS or not device_known(svc.store.client, platform, device_id):
        abort(404)
    if platform not in svc.gateways:
        return refused(400, "Not configured",
                       f"{platform} is not configured on this web process (its *_BASE_URL and "
                       "credentials), so nothing can be asked of its devices.")
    return None


def _confirmed() -> bool:
    return request.form.get("confirm") == "yes"


@bp.route("/actions/revoke/<platform>/<device_id>", methods=["GET", "POST"])
def revoke(platform: str, device_id: str):
    if (problem := _device(platform, device_id)) is not None:
        return problem
    svc = services()
    every = request.values.get("all") == "1"
    if request.method == "GET" or not _confirmed():
        pending = svc.store.device_state(platform, device_id).pending
        now = svc.clock()
        targets = sorted((at, c) for c, at in pending.items() if every or at <= now)
        return render("confirm.html", action="revoke", platform=platform, device_id=device_id,
                      every=every, targets=targets, pending=len(pending),
                      form_action=url_for("dashboard.revoke", platform=platform,
                                          device_id=device_id),
                      back=device_url(platform, device_id))
    actions.note(svc.store.client, platform, device_id,
                 actions.Asked(svc.clock(), BY, "revoke_all" if every else "revoke"))
    actors.revoke_device.send(platform, device_id, not every, BY)
    log.info("dashboard: revocation of %s:%s asked (all=%s)", platform, device_id, every)
    return redirect(url_for("dashboard.device", platform=platform, device_id=device_id,
                            done="revoke_all" if every else "revoke"))


@bp.route("/actions/reconcile/<platform>/<device_id>", methods=["GET", "POST"])
def reconcile(platform: str, device_id: str):
    if (problem := _device(platform, device_id)) is not None:
        return problem
    svc = services()
    if request.method == "GET" or not _confirmed():
        open_commands = svc.store.device_state(platform, device_id).open
        return render("confirm.html", action="reconcile", platform=platform,
                      device_id=device_id, open_commands=open_commands,
                      form_action=url_for("dashboard.reconcile", platform=platform,
                                          device_id=device_id),
                      back=device_url(platform, device_id))
    actions.note(svc.store.client, platform, device_id, actions.Asked(svc.clock(), BY,
                                                                      "reconcile"))
    actors.reconcile_device.send(platform, device_id, True)
    log.info("dashboard: history re-check of %s:%s asked", platform, device_id)
    return redirect(url_for("dashboard.device", platform=platform, device_id=device_id,
                            done="reconcile"))


def _redis_broker():
    """The workers' broker when it is Redis (whose dead-letter sets the page reads), else None."""
    return None if broker.uses_rabbitmq() else broker.current()


@bp.route("/dead-letters")
def dead_letters():
    svc = services()
    current = _redis_broker()
    rows = []
    if current is not None:
        for letter in replay.dead(svc.store.client, current):
            message = replay.decode(letter)
            rows.append({"letter": letter, "job": replay.describe(message) if message
                         else "(unreadable)", "device": replay.device_of(message)
                         if message else None})
    return render("dead_letters.html", live=True, rows=rows, rabbitmq=current is None,
                  done=request.args.get("done"), device_url=device_url)


@bp.route("/actions/replay/<letter_id>", methods=["GET", "POST"])
def replay_letter(letter_id: str):
    svc = services()
    current = _redis_broker()
    if current is None:
        abort(404)
    found = replay.dead(svc.store.client, current, [letter_id])
    if not found:
        return render("not_found.html", 404, heading="No such dead letter",
                      message=f"There is no dead letter {letter_id!r} (replayed or dropped "
                              "meanwhile, or dramatiq forgot it after a week).")
    letter = found[0]
    message = replay.decode(letter)
    if request.method == "GET" or not _confirmed():
        verdict = replay.verdict(svc.store, current, message, svc.clock())
        return render("confirm.html", action="replay", letter=letter, verdict=verdict,
                      job=replay.describe(message) if message else "(unreadable)",
                      form_action=url_for("dashboard.replay_letter", letter_id=letter_id),
                      back=url_for("dashboard.dead_letters"))
    verdict = replay.replay_letter(svc.store, current, letter, svc.clock())
    device = replay.device_of(message) if message else None
    if device is not None and verdict.decision is replay.Decision.REPLAY:
        actions.note(svc.store.client, *device, actions.Asked(
            svc.clock(), BY, "replay", replay.describe(message)))
    log.info("dashboard: dead letter %s %s: %s", letter_id, verdict.decision.value,
             verdict.reason)
    return redirect(url_for("dashboard.dead_letters", done=f"{verdict.decision.value}: "
                            f"{verdict.reason}"[:300]))

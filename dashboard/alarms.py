"""The fleet page's alarms about callbacks: what was not taken in the last hour, and why.

A OneNET push that fails its signature is answered 200 (the platform would disable the push
otherwise), so a wrong ONENET_PUSH_TOKEN shows nowhere else an operator looks: each reason seen
in the last hour becomes one line naming its likely cause (web/rejections.py), and statuses
cmdkeeper does not know get a line of their own. Read from the per-minute figures the fleet
page already reads (store/stats.py), so it costs no round trip. The callback health guard's
alarms (store/callback_health.py) are here too: they come from the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.callback_health import Health
from store.stats import FleetStats
from web.rejections import NOUN, cause


@dataclass(frozen=True)
class Alarm:
    #: The element id (a word): the page's tests and an operator's bookmarks find it by it.
    id: str
    text: str


def callback_alarms(stats: FleetStats) -> list[Alarm]:
    """One alarm per (platform, reason) of callbacks not taken, most frequent first, then one
    per platform that reported statuses cmdkeeper does not know."""
    alarms = []
    rejected = sorted(stats.rejected_last_hour.items(), key=lambda item: (-item[1], item[0]))
    for (platform, reason), count in rejected:
        why = cause(platform, reason)
        alarms.append(Alarm(
            f"rejected-{platform}-{reason}",
            f"{NOUN.get(platform, platform)} {why.what} in the last hour: {why.check} "
            f"({count} not taken)."))
    for platform, count in sorted(stats.unknown_statuses_last_hour.items()):
        alarms.append(Alarm(
            f"unknown-{platform}",
            f"{NOUN.get(platform, platform)} reported {count} status(es) cmdkeeper does not "
            "know in the last hour: each is kept in its command's timeline as not applied and "
            "its device's history re-checked. If it recurs, the platform uses a word "
            f"platforms/{platform}_vocab.py lacks."))
    return alarms


def health_alarms(healths: list[Health]) -> list[Alarm]:
    """One alarm per platform whose callbacks we are failing badly enough that the platform
    will soon stop sending them (store/callback_health.py; README.md, "When the callback health
    alarm fires")."""
    return [Alarm(f"health-{h.platform}",
                  f"Callback health: {NOUN.get(h.platform, h.platform + ' callbacks')} "
                  f"{h.alarm}. {h.guard.rule}: see README, \"When the callback health alarm "
                  "fires\".") for h in healths if h.alarm]

"""The callback health guard: are we failing the platforms' callbacks badly enough that a
platform will soon stop sending them?

The platforms punish a receiver that fails: Huawei disables a callback URL after 10 consecutive
failures, IoTDA blocklists the host after 10, OneNET disables the push after 2,000 failures or
24 h of failing. cmdkeeper counts its own answers that are not 200 and those slower than a third
of the platform's timeout (web/callback_metrics.py), per platform, by minute and five minutes
(store/series.py). An alarm goes up well before a platform's threshold: at a third of Huawei's
and IoTDA's ten in a row (counted over 15 minutes, since callbacks of several commands
interleave), at a twentieth of OneNET's 2,000, or when OneNET pushes have failed in every five
minutes of the last hour. The fleet page shows it (dashboard/alarms.py), `/metrics` exports it as
`cmdkeeper_callback_health_alarm{platform}`, and the README says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmdkeeper.metric_names import (
    MINUTE_CALLBACK_FAILURES,
    MINUTE_CALLBACK_SLOW,
    MINUTE_CALLBACKS,
)
from store.series import Series


@dataclass(frozen=True)
class Guard:
    #: The platform's own rule, in words.
    rule: str
    #: Answers are counted over this many minutes...
    window_min: int
    #: ...and the alarm goes up at this many non-200 (or slow) answers in it.
    failures: int
    #: Alarm when every five minutes of the last hour had a failure (OneNET's "24 h").
    sustained: bool = False


GUARDS = {
    "huawei": Guard("Huawei disables the callback URL after 10 failures in a row", 15, 3),
    "iotda": Guard("IoTDA blocklists the host after 10 failures in a row", 15, 3),
    "onenet": Guard("OneNET disables the push after 2,000 failures or 24 h of failing",
                    24 * 60, 100, sustained=True),
}
_DEFAULT = GUARDS["huawei"]


@dataclass(frozen=True)
class Health:
    platform: str
    guard: Guard
    received_hour: int
    failures_hour: int
    slow_hour: int
    received_day: int
    failures_day: int
    slow_day: int
    #: Non-200 and slow answers within the guard's window.
    window_failures: int
    window_slow: int
    #: Why the alarm is up; None while healthy.
    alarm: str | None


def _window(hour: Series, day: Series, name: str, platform: str, minutes: int) -> int:
    if minutes <= 60:
        return int(sum(hour.total(name, platform=platform)[-minutes:]))
    return int(sum(day.total(name, platform=platform)[-(minutes // 5):]))


def health(platform: str, hour: Series, day: Series) -> Health:
    guard = GUARDS.get(platform, _DEFAULT)
    failures = _window(hour, day, MINUTE_CALLBACK_FAILURES, platform, guard.window_min)
    slow = _window(hour, day, MINUTE_CALLBACK_SLOW, platform, guard.window_min)
    span = (f"the last {guard.window_min} min" if guard.window_min <= 60
            else f"the last {guard.window_min // 60} h")
    alarm = None
    if failures >= guard.failures:
        alarm = f"{failures} answered with an error (not 200) in {span}"
    elif slow >= guard.failures:
        alarm = f"{slow} answered slowly (over a third of the platform's timeout) in {span}"
    elif guard.sustained and all(day.total(MINUTE_CALLBACK_FAILURES, platform=platform)[-12:]):
        alarm = "answered with errors in every five minutes of the last hour"
    return Health(
        platform, guard,
        received_hour=int(hour.summed(MINUTE_CALLBACKS, platform=platform)),
        failures_hour=int(hour.summed(MINUTE_CALLBACK_FAILURES, platform=platform)),
        slow_hour=int(hour.summed(MINUTE_CALLBACK_SLOW, platform=platform)),
        received_day=int(day.summed(MINUTE_CALLBACKS, platform=platform)),
        failures_day=int(day.summed(MINUTE_CALLBACK_FAILURES, platform=platform)),
        slow_day=int(day.summed(MINUTE_CALLBACK_SLOW, platform=platform)),
        window_failures=failures, window_slow=slow, alarm=alarm)

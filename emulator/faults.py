"""Faults and limits settable at start and at run time, and the rolling-window rate limiter.

Probabilities are in [0, 1] and drawn from the seeded fault streams, so a run is repeatable.
Delivery faults (drop, duplicate, delay, reorder) apply to Huawei callbacks and OneNET pushes
alike; API faults (congestion, 5xx) to every platform API call.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

#: Which clock the rate limiter's window runs on.
RATE_CLOCKS = ("real", "emulated")


class FaultsError(ValueError):
    """Raised when a fault setting is unknown or out of range."""


@dataclass(frozen=True)
class Faults:
    """Every run-time knob of misbehaviour and every limit; times are emulated seconds."""

    drop_p: float = 0.0  #: a callback/push is never delivered
    duplicate_p: float = 0.0  #: a callback/push is delivered twice
    delay_p: float = 0.0  #: a callback/push waits `delay_s` before it goes out
    delay_s: float = 30.0
    reorder_p: float = 0.0  #: a callback/push is held back until the next one to its URL has gone
    reorder_hold_s: float = 10.0  #: ...or until this long has passed
    congestion_p: float = 0.0  #: an API call answers Huawei 503/100501 (OneNET errno 7, IoTDA 503)
    error_5xx_p: float = 0.0  #: an API call answers Huawei 500/50252 (OneNET HTTP 500, IoTDA 500)
    huawei_rate_limit: int = 100  #: calls per rolling window per app; 0 = unlimited
    onenet_rate_limit: int = 0  #: calls per rolling window per api key; 0 = unlimited
    rate_window_s: float = 60.0
    iotda_rate_limit: int = 200  #: IoTDA calls per `iotda_rate_window_s` per key; 0 = unlimited
    iotda_rate_window_s: float = 1.0  #: IoTDA limits are per second (enterprise: 200 calls/s)
    rate_clock: str = "real"  #: "real" (wall clock, as the client sees it) or "emulated"
    token_ttl_s: int = 3600  #: Huawei accessToken lifetime (`expiresIn`) of tokens issued next
    retry_interval_s: float = 30.0  #: a failed callback/push is tried again after this long
    huawei_retry_window_s: float = 600.0  #: ...for this long after its first attempt (Huawei)
    onenet_retry_window_s: float = 86400.0  #: ...and for OneNET pushes

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with `changes` applied; FaultsError names the first bad one."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise FaultsError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            clean[name] = _coerce(name, known[name].type, value)
        return replace(self, **clean)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(name: str, type_name: Any, value: Any) -> Any:
    if name == "rate_clock":
        if value not in RATE_CLOCKS:
            raise FaultsError(f"rate_clock must be one of {RATE_CLOCKS}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FaultsError(f"{name} must be a number")
    try:
        number = int(value) if type_name in ("int", int) else float(value)
    except ValueError:
        raise FaultsError(f"{name} must be a number") from None
    if number < 0:
        raise FaultsError(f"{name} must not be negative")
    if name.endswith("_p") and number > 1:
        raise FaultsError(f"{name} is a probability in [0, 1]")
    if name == "token_ttl_s" and number < 1:
        raise FaultsError("token_ttl_s must be at least 1")
    if name in ("rate_window_s", "iotda_rate_window_s") and number <= 0:
        raise FaultsError(f"{name} must be positive")
    return number


class RateLimiter:
    """Calls per key in a rolling window: a call at t counts until t + window (exclusive).

    Only admitted calls are counted: a call refused for throttling does not extend the wait.
    """

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def admit(self, key: tuple[str, str], now_s: float, limit: int, window_s: float) -> bool:
        hits = self._hits[key]
        while hits and hits[0] <= now_s - window_s:
            hits.popleft()
        if limit > 0 and len(hits) >= limit:
            return False
        hits.append(now_s)
        return True

    def clear(self) -> None:
        self._hits.clear()

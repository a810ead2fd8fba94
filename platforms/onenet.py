"""OneNET NB-IoT client (docs/platforms.md, "OneNET"): cached read/write/execute, history, cancel.

Every call takes a slot from the shared rate limiter, sends the `api-key`, has an explicit
(connect, read) timeout, and maps OneNET's errno into our retryable/permanent exceptions keeping
errno and text. Request times are Beijing local time, converted here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from platforms import transport
from platforms.budget import take_slot
from platforms.errors import (
    PermanentError,
    PlatformError,
    RetryableError,
    ThrottledError,
)
from platforms.formats import ms_to_onenet, onenet_to_ms
from platforms.metered import metered
from store.ratelimit import Priority, RateLimiter

PLATFORM = "onenet"
TIMEOUT_S = (3.05, 15)
PER_PAGE = 100
#: Retries we ask for on every cached command (OneNET's documented default), so that history's
#: `remain` tells how many attempts were used.
RETRY = 3

#: errno worth retrying: internal backlog, rpc errors, server errors (NB-IoT and generic tables).
_RETRYABLE_ERRNO = {7, 17, 18, 5108, 5117}
_THROTTLED_ERRNO = {15}


@dataclass(frozen=True)
class OneNetCommand:
    """One cached command as history reports it."""

    uuid: str
    imei: str
    kind: str
    send_status: int
    confirm_status: str | None
    remain: int | None
    created_ms: int | None
    expired_ms: int | None
    send_ms: int | None
    confirm_ms: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _time(raw: dict, name: str) -> int | None:
    value = raw.get(name)
    if not value:
        return None
    try:
        return onenet_to_ms(str(value))
    except ValueError:
        return None


def _lenient_int(value: Any) -> int | None:
    """OneNET sends some numbers as strings (`"remain": "3"`)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_item(raw: dict) -> OneNetCommand:
    return OneNetCommand(
        uuid=str(raw.get("cmd_uuid") or raw.get("uuid") or "").strip(),
        imei=str(raw.get("imei", "")),
        kind=str(raw.get("type", "")),
        send_status=int(raw["send_status"]),
        confirm_status=raw.get("confirm_status") or None,
        remain=_lenient_int(raw.get("remain")),
        created_ms=_time(raw, "create_time"),
        expired_ms=_time(raw, "expired_time"),
        send_ms=_time(raw, "send_time"),
        confirm_ms=_time(raw, "confirm_time"),
        raw=raw,
    )


def error_for(errno: int, text: str, http_status: int) -> PlatformError:
    code = str(errno)
    if errno in _THROTTLED_ERRNO:
        return ThrottledError(PLATFORM, code, text, http_status)
    if errno in _RETRYABLE_ERRNO:
        return RetryableError(PLATFORM, code, text, http_status)
    return PermanentError(PLATFORM, code, text, http_status)


class OneNetClient:
    def __init__(self, session: requests.Session, base_url: str, api_key: str, *,
                 limiter: RateLimiter, timeout: tuple[float, float] = TIMEOUT_S) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.limiter = limiter
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"OneNetClient({self.base_url!r})"

    def create(self, imei: str, kind: str, paras: dict[str, Any], *, expired_ms: int,
               priority: Priority = Priority.USER) -> str:
        """Create a cached READ, WRITE or EXECUTE command; returns its uuid."""
        params: dict[str, Any] = {"imei": imei, "obj_id": paras["obj_id"],
                                  "expired_time": ms_to_onenet(expired_ms), "retry": RETRY}
        for name in ("obj_inst_id", "res_id"):
            if paras.get(name) is not None:
                params[name] = paras[name]
        if kind == "READ":
            data = self._call("GET", "/nbiot/offline", priority, params=params)
        elif kind == "WRITE":
            params["mode"] = paras["mode"]
            params.pop("res_id", None)
            data = self._call("POST", "/nbiot/offline", priority, params=params,
                              json={"data": paras["data"]})
        else:
            body = {"args": paras["args"]} if paras.get("args") is not None else None
            data = self._call("POST", "/nbiot/execute/offline", priority, params=params,
                              json=body)
        if not isinstance(data, dict) or not data.get("uuid"):
            raise RetryableError(PLATFORM, "bad_response", "create answered without a uuid")
        return str(data["uuid"])

    def history(self, imei: str, start_ms: int, end_ms: int | None = None, *,
                priority: Priority = Priority.BACKGROUND) -> list[OneNetCommand]:
        """Every cached command of the device created in the window, all pages, oldest first."""
        params: dict[str, Any] = {"imei": imei, "start": ms_to_onenet(start_ms),
                                  "per_page": PER_PAGE, "sort": "ASC"}
        if end_ms is not None:
            params["end"] = ms_to_onenet(end_ms)
        out: list[OneNetCommand] = []
        page = 1
        while True:
            data = self._call("GET", "/nbiot/offline/history", priority,
                              params={**params, "page": page}) or {}
            items = data.get("items") or []
            out += [parse_item(i) for i in items]
            total = _lenient_int(data.get("total_count", data.get("count"))) or 0
            page += 1
            if not items or len(out) >= total:
                return out

    def detail(self, imei: str, uuid: str, *,
               priority: Priority = Priority.BACKGROUND) -> OneNetCommand:
        data = self._call("GET", f"/nbiot/offline/history/{uuid}", priority,
                          params={"imei": imei}) or {}
        return parse_item({"cmd_uuid": uuid, **data})

    def cancel(self, imei: str, uuid: str, *, priority: Priority = Priority.REVOKE) -> None:
        self._call("PUT", f"/nbiot/offline/cancel/{uuid}", priority, params={"imei": imei})

    def cancel_all(self, imei: str, *,
                   priority: Priority = Priority.REVOKE) -> tuple[list[str], list[str]]:
        """Cancel every waiting command; returns (cancelled uuids, failed uuids)."""
        data = self._call("PUT", "/nbiot/offline/cancel/all", priority,
                          params={"imei": imei}) or {}
        return [str(u) for u in data.get("succ") or []], [str(u) for u in data.get("failed") or []]

    @metered(PLATFORM)
    def _call(self, method: str, path: str, priority: Priority, **kwargs: Any) -> Any:
        take_slot(self.limiter, PLATFORM, priority)
        response = transport.request(self.session, PLATFORM, method, self.base_url + path, path,
                                     headers={"api-key": self._api_key}, timeout=self.timeout,
                                     **kwargs)
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(PLATFORM, f"http_{response.status_code}", response.reason or "",
                                 response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "errno" not in body:
            if response.status_code >= 400:
                raise PermanentError(PLATFORM, f"http_{response.status_code}",
                                     response.reason or "", response.status_code)
            raise RetryableError(PLATFORM, "bad_response", f"{method} {path}: no errno envelope",
                                 response.status_code)
        errno = _lenient_int(body.get("errno"))
        if errno != 0:
            error = error_for(errno if errno is not None else -1, str(body.get("error", "")),
                              response.status_code)
            if isinstance(error, ThrottledError):
                self.limiter.learn_from_throttling()  # every process keeps to a lower limit
            raise error
        return body.get("data")

"""Huawei OceanConnect northbound v1 client (docs/platforms.md, "Huawei"): commands and cancel
tasks.

Every call takes a slot from the shared rate limiter, carries the shared access token, has an
explicit (connect, read) timeout, and turns failures into our exceptions: retryable (timeouts,
5xx, 100501 congestion, 1010009 throttling, 1010005 token) or permanent (bad input, unknown
device, …), keeping Huawei's code and text. On 1010005 the token is invalidated and the call is
retried once with a fresh one. Huawei's time strings become epoch ms here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
    TokenInvalidError,
)
from platforms.formats import huawei_to_ms, ms_to_huawei
from platforms.metered import metered
from platforms.shared_token import IssuedToken, SharedToken
from store.ratelimit import Priority, RateLimiter

log = logging.getLogger(__name__)

PLATFORM = "huawei"
#: (connect, read) timeouts of every call, in seconds.
TIMEOUT_S = (3.05, 15)
PAGE_SIZE = 100
#: Logging in and refreshing the token take their call slot as revocations do.
AUTH_PRIORITY = Priority.REVOKE
#: Cancel-task statuses after which the task changes no more.
TASK_DONE = frozenset({"SUCCESS", "PART_SUCCESS", "FAILED"})

_RETRYABLE_CODES = {"1010009", "100501", "100023", "100220", "50252", "100001"}
_CMD = "/iocm/app/cmd/v1.4.0"


@dataclass(frozen=True)
class HuaweiCommand:
    """One command as the platform reports it."""

    command_id: str
    device_id: str
    status: str
    service_id: str = ""
    method: str = ""
    paras: dict[str, Any] = field(default_factory=dict)
    created_ms: int | None = None
    issued_ms: int | None = None
    delivered_ms: int | None = None
    executed_ms: int | None = None
    expire_time_s: int | None = None


@dataclass(frozen=True)
class HuaweiCancelTask:
    """A cancel task as the platform reports it (our own view of a running one is
    workers/cancel_task.py's `CancelTask`)."""

    task_id: str
    device_id: str
    status: str
    total_count: int
    commands: list[HuaweiCommand]

    @property
    def done(self) -> bool:
        return self.status in TASK_DONE


def _time(raw: dict, *names: str) -> int | None:
    for name in names:
        value = raw.get(name)
        if value:
            try:
                return huawei_to_ms(value)
            except (TypeError, ValueError):
                log.warning("unreadable Huawei time in %s: %r", name, value)
    return None


def parse_command(raw: dict) -> HuaweiCommand:
    command = raw.get("command") or {}
    return HuaweiCommand(
        command_id=str(raw["commandId"]),
        device_id=str(raw.get("deviceId", "")),
        status=str(raw.get("status", "")),
        service_id=str(command.get("serviceId", "")),
        method=str(command.get("method", "")),
        paras=command.get("paras") or {},
        # libiocm saw `createTime` where the docs say `creationTime`: accept either
        created_ms=_time(raw, "creationTime", "createTime"),
        issued_ms=_time(raw, "platformIssuedTime"),
        delivered_ms=_time(raw, "deliveredTime"),
        executed_ms=_time(raw, "executeTime"),
        expire_time_s=raw.get("expireTime"),
    )


def parse_task(raw: dict) -> HuaweiCancelTask:
    return HuaweiCancelTask(
        task_id=str(raw["taskId"]),
        device_id=str(raw.get("deviceId", "")),
        # Huawei's docs spell it WAITTING; WAITING is what one would expect
        status="WAITING" if raw.get("status") == "WAITTING" else str(raw.get("status", "")),
        total_count=int(raw.get("totalCount") or 0),
        commands=[parse_command(c) for c in raw.get("deviceCommands") or []],
    )


def error_for(response: requests.Response) -> PlatformError | None:
    """The error a response carries, if any: any body with `error_code` is one, whatever the
    HTTP status (Huawei documents some errors with 200)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code = str(body.get("error_code")) if isinstance(body, dict) and "error_code" in body else None
    if code is None and response.status_code < 400:
        return None
    text = (body or {}).get("error_desc") if isinstance(body, dict) else None
    text = text or response.reason or "error"
    status = response.status_code
    code = code or f"http_{status}"
    if code == "1010005":
        return TokenInvalidError(PLATFORM, code, text, status)
    if code == "1010009":
        return ThrottledError(PLATFORM, code, text, status)
    if code in _RETRYABLE_CODES or status >= 500 or status == 429:
        return RetryableError(PLATFORM, code, text, status)
    return PermanentError(PLATFORM, code, text, status)


class HuaweiClient:
    def __init__(self, session: requests.Session, base_url: str, app_id: str, secret: str, *,
                 limiter: RateLimiter, token_for: Callable[[HuaweiClient], SharedToken],
                 timeout: tuple[float, float] = TIMEOUT_S) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = secret
        self.limiter = limiter
        self.timeout = timeout
        self.token = token_for(self)

    def __repr__(self) -> str:
        return f"HuaweiClient({self.base_url!r}, app_id={self.app_id!r})"

    # -- authentication (no token; rate-limited like every call) --------------------------
    # Every call waits for the token, revocations too: getting one goes first like them (at a
    # lower priority it would wait behind the very revocations that wait for it).
    def login(self) -> IssuedToken:
        body = self._send("POST", "/iocm/app/sec/v1.1.0/login", AUTH_PRIORITY, token=None,
                          data={"appId": self.app_id, "secret": self._secret})
        return IssuedToken(body["accessToken"], int(body.get("expiresIn") or 3600),
                           body.get("refreshToken", ""))

    def refresh(self, refresh_token: str) -> IssuedToken:
        body = self._send("POST", "/iocm/app/sec/v1.1.0/refreshToken", AUTH_PRIORITY, token=None,
                          json={"appId": self.app_id, "secret": self._secret,
                                "refreshToken": refresh_token})
        return IssuedToken(body["accessToken"], int(body.get("expiresIn") or 3600),
                           body.get("refreshToken", ""))

    # -- commands -------------------------------------------------------------------------
    def create_command(self, device_id: str, service_id: str, method: str,
                       paras: dict[str, Any], *, callback_url: str, expire_time_s: int,
                       max_retransmit: int | None = None,
                       priority: Priority = Priority.USER) -> HuaweiCommand:
        body: dict[str, Any] = {
            "deviceId": device_id,
            "command": {"serviceId": service_id, "method": method, "paras": paras},
            "callbackUrl": callback_url,
            "expireTime": expire_time_s,
        }
        if max_retransmit is not None:
            body["maxRetransmit"] = max_retransmit
        return parse_command(self._call("POST", f"{_CMD}/deviceCommands", priority, json=body))

    def query_commands(self, device_id: str, *, start_ms: int | None = None,
                       end_ms: int | None = None,
                       priority: Priority = Priority.BACKGROUND) -> list[HuaweiCommand]:
        """Every command of the device created in the window, all pages."""
        params: dict[str, Any] = {"deviceId": device_id, "pageSize": PAGE_SIZE}
        if start_ms is not None:
            params["startTime"] = ms_to_huawei(start_ms)
        if end_ms is not None:
            params["endTime"] = ms_to_huawei(end_ms)
        out: list[HuaweiCommand] = []
        page = 0
        while True:
            body = self._call("GET", f"{_CMD}/deviceCommands", priority,
                              params={**params, "pageNo": page})
            data = body.get("data") or []
            out += [parse_command(c) for c in data]
            total = int((body.get("pagination") or {}).get("totalSize") or 0)
            page += 1
            if not data or len(out) >= total:
                return out

    def cancel_command(self, command_id: str, *,
                       priority: Priority = Priority.REVOKE) -> HuaweiCommand:
        return parse_command(self._call("PUT", f"{_CMD}/deviceCommands/{command_id}", priority,
                                        json={"status": "CANCELED"}))

    def create_cancel_task(self, device_id: str, *,
                           priority: Priority = Priority.REVOKE) -> HuaweiCancelTask:
        return parse_task(self._call("POST", f"{_CMD}/deviceCommandCancelTasks", priority,
                                     json={"deviceId": device_id}))

    def query_cancel_task(self, task_id: str, *,
                          priority: Priority = Priority.REVOKE) -> HuaweiCancelTask:
        body = self._call("GET", f"{_CMD}/deviceCommandCancelTasks", priority,
                          params={"taskId": task_id, "pageNo": 0, "pageSize": 1})
        data = body.get("data") or []
        if not data:
            raise PermanentError(PLATFORM, "task_not_found", f"no cancel task {task_id}")
        return parse_task(data[0])

    # -- plumbing -------------------------------------------------------------------------
    def _call(self, method: str, path: str, priority: Priority, **kwargs: Any) -> dict:
        token = self.token.get()
        try:
            return self._send(method, path, priority, token=token, **kwargs)
        except TokenInvalidError:
            # Expired, or superseded by another login: one fresh token, one retry.
            self.token.invalidate(token)
            return self._send(method, path, priority, token=self.token.get(), **kwargs)
        except ThrottledError:
            # Our budget and the platform's disagree (another client on the same app?): every
            # process keeps to a lower limit from now on; the job is retried by its actor.
            self.limiter.learn_from_throttling()
            raise

    @metered(PLATFORM)
    def _send(self, method: str, path: str, priority: Priority, *, token: str | None,
              **kwargs: Any) -> dict:
        take_slot(self.limiter, PLATFORM, priority)
        headers = {"app_key": self.app_id}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = transport.request(self.session, PLATFORM, method, self.base_url + path, path,
                                     headers=headers, timeout=self.timeout, **kwargs)
        error = error_for(response)
        if error is not None:
            raise error
        try:
            body = response.json()
        except ValueError:
            raise RetryableError(PLATFORM, "bad_response", f"{method} {path}: not JSON",
                                 response.status_code) from None
        if not isinstance(body, dict):
            raise RetryableError(PLATFORM, "bad_response", f"{method} {path}: not an object",
                                 response.status_code)
        return body

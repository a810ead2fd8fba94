"""Counting platform calls: a decorator for the one method of each client that makes a call
(`HuaweiClient._send`, `OneNetClient._call`, `IotdaClient._send`), so every call is counted by
operation and outcome (`cmdkeeper_platform_calls_total`) without touching the call paths
themselves."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from cmdkeeper.metric_names import PLATFORM_CALLS
from platforms.errors import (
    PermanentError,
    RateLimitTimeout,
    RetryableError,
    ThrottledError,
    TokenInvalidError,
)

F = TypeVar("F", bound=Callable[..., Any])

_CMD = "/iocm/app/cmd/v1.4.0"
#: (method, path with ids as `{id}`) -> operation label; anything else is `other`.
OPERATIONS = {
    ("POST", "/iocm/app/sec/v1.1.0/login"): "login",
    ("POST", "/iocm/app/sec/v1.1.0/refreshToken"): "refresh_token",
    ("POST", f"{_CMD}/deviceCommands"): "create_command",
    ("GET", f"{_CMD}/deviceCommands"): "query_commands",
    ("PUT", f"{_CMD}/deviceCommands/{{id}}"): "cancel_command",
    ("POST", f"{_CMD}/deviceCommandCancelTasks"): "create_cancel_task",
    ("GET", f"{_CMD}/deviceCommandCancelTasks"): "query_cancel_task",
    ("GET", "/nbiot/offline"): "create_read",
    ("POST", "/nbiot/offline"): "create_write",
    ("POST", "/nbiot/execute/offline"): "create_execute",
    ("GET", "/nbiot/offline/history"): "history",
    ("GET", "/nbiot/offline/history/{id}"): "detail",
    ("PUT", "/nbiot/offline/cancel/all"): "cancel_all",
    ("PUT", "/nbiot/offline/cancel/{id}"): "cancel",
    ("POST", "/v5/async-commands"): "create_async_command",
    ("GET", "/v5/async-commands"): "list_async_commands",
    ("GET", "/v5/async-commands/{id}"): "show_async_command",
    ("GET", "/v5/async-commands-history"): "list_async_history",
}
#: IoTDA paths carry the project and the device: `/v5/iot/{project}/devices/{device}/...`.
_IOTDA = re.compile(r"^/v5/iot/[^/]+/devices/[^/]+(/async-commands(?:-history)?)(/[^/]+)?$")
#: Path segments followed by an id.
_ID_PARENTS = ("deviceCommands", "history", "cancel")


def operation(method: str, path: str) -> str:
    """The low-cardinality name of a call (never its ids)."""
    if m := _IOTDA.match(path.rstrip("/")):
        return OPERATIONS.get((method, f"/v5{m[1]}{'/{id}' if m[2] else ''}"), "other")
    head, _, last = path.rstrip("/").rpartition("/")
    if head.rpartition("/")[2] in _ID_PARENTS and last != "all":
        path = f"{head}/{{id}}"
    return OPERATIONS.get((method, path), "other")


def outcome(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, RateLimitTimeout):
        return "no_budget"  # never sent: our own budget had no slot in time
    if isinstance(error, ThrottledError):
        return "throttled"
    if isinstance(error, TokenInvalidError):
        return "token_invalid"
    if isinstance(error, RetryableError):
        return error.code if error.code in ("timeout", "connection") else "retryable"
    if isinstance(error, PermanentError):
        return "permanent"
    return "error"


def metered(platform: str) -> Callable[[F], F]:
    """Decorate `method(self, http_method, path, ...)` to count each call it makes."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def call(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            error: BaseException | None = None
            try:
                return fn(self, method, path, *args, **kwargs)
            except BaseException as e:
                error = e
                raise
            finally:
                PLATFORM_CALLS.inc(platform=platform, operation=operation(method, path),
                                   outcome=outcome(error))

        return call  # type: ignore[return-value]

    return decorate

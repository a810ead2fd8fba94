"""Huawei IoTDA v5 client (docs/platforms.md, "IoTDA"): cached (asynchronous) device commands:
create, show, list the in-queue ones, list history.

Requests are signed by the official SDK's own signer (huaweicloudsdkcore: `BasicCredentials`
-> `SDK-HMAC-SHA256`, or the derived `V11-HMAC-SHA256` for an instance endpoint's region) and
sent through our `requests.Session`, rather than through the SDK's `IoTDAClient`. That client
takes (connect, read) timeouts (`HttpConfig.timeout`) but no session, and what it does with its
own showed up when we tried it against a local server:
- its adapter retries 429 for GETs through urllib3 with no retries left, so a throttled GET
  surfaces as a RetryError with code "429": the platform's error code and X-Request-Id are lost
  (a throttled POST keeps them);
- a read timeout surfaces as its ConnectionException, like a refused connection;
- it signs on a thread pool of its own (8 threads per client) and logs each failure, URL
  included, through logging's last-resort handler, outside our log format and scrubbing;
- its session trusts proxy variables, and cannot be shared or replaced in tests.
With the signer alone, a call is one `platforms.transport.request` like every other platform's:
explicit timeouts, transport failures mapped once, our session.

Every call takes a slot from the shared budget first (IoTDA counts calls per second; the budget
is built with a one-second window, see `platforms.factory`) and is counted by `metered`.
Errors keep IoTDA's `error_code`/`error_msg` (and the request id, for Huawei's support):
throttling (HTTP 429, APIG.0308, IOTDA.021101/021102) is a ThrottledError and lowers the budget;
timeouts, connection failures and 5xx are retryable; other 4xx are permanent (unknown device,
the 20-PENDING cap: `PENDING_LIMIT_CODES`). Times become epoch ms here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import DerivationAKSKSigner

from platforms import transport
from platforms.budget import take_slot
from platforms.errors import PermanentError, PlatformError, RetryableError, ThrottledError
from platforms.formats import iotda_to_ms, ms_to_iotda
from platforms.metered import metered
from store.ratelimit import Priority, RateLimiter

log = logging.getLogger(__name__)

PLATFORM = "iotda"
#: (connect, read) timeouts of every call, in seconds.
TIMEOUT_S = (3.05, 15)
#: The largest page IoTDA lists; all pages are read by marker (offset stops at 500).
PAGE_LIMIT = 50
#: Pages read per list at most: a guard against a marker that never ends (10,000 commands).
MAX_PAGES = 200
USER_AGENT = "cmdkeeper"
DERIVED_SERVICE = "iotdm"
#: Throttling answers: the API gateway's code, and IoTDA's own rate-limit codes.
THROTTLED_CODES = frozenset({"APIG.0308", "IOTDA.021101", "IOTDA.021102"})
#: The 21st PENDING command of a device. Huawei's code is not in the public material we found;
#: this is the emulator's (docs/platforms.md, "IoTDA: errors").
PENDING_LIMIT_CODES = frozenset({"IOTDA.014108"})


@dataclass(frozen=True)
class IotdaCommand:
    """One command as the platform reports it (lists give no paras and no result)."""

    command_id: str
    device_id: str
    status: str
    service_id: str = ""
    command_name: str = ""
    paras: dict[str, Any] | None = None
    result: Any = None
    expire_time_s: int | None = None
    send_strategy: str = ""
    created_ms: int | None = None
    sent_ms: int | None = None
    delivered_ms: int | None = None
    response_ms: int | None = None


def _time(raw: dict, name: str) -> int | None:
    value = raw.get(name)
    if not value:
        return None
    try:
        return iotda_to_ms(str(value))
    except ValueError:
        log.warning("unreadable IoTDA time in %s: %r", name, value)
        return None


def parse_command(raw: dict) -> IotdaCommand:
    paras = raw.get("paras")
    expire = raw.get("expire_time")
    return IotdaCommand(
        command_id=str(raw["command_id"]), device_id=str(raw.get("device_id") or ""),
        status=str(raw.get("status") or ""), service_id=str(raw.get("service_id") or ""),
        command_name=str(raw.get("command_name") or ""),
        paras=paras if isinstance(paras, dict) else None, result=raw.get("result"),
        expire_time_s=expire if isinstance(expire, int) else None,
        send_strategy=str(raw.get("send_strategy") or ""),
        created_ms=_time(raw, "created_time"), sent_ms=_time(raw, "sent_time"),
        delivered_ms=_time(raw, "delivered_time"), response_ms=_time(raw, "response_time"))


def error_for(response: requests.Response) -> PlatformError | None:
    """The error a response carries, if any (a 4xx/5xx status; the SDK reads the same body
    shapes: error_code/error_msg, errorCode/errorMsg, code/message)."""
    status = response.status_code
    if status < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    code = text = None
    if isinstance(body, dict):
        for c, m in (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")):
            if body.get(c):
                code, text = str(body[c]), str(body.get(m) or "")
                break
    code = code or f"http_{status}"
    text = text or response.reason or "error"
    request_id = response.headers.get("X-Request-Id")
    if request_id:
        text = f"{text} (X-Request-Id {request_id})"
    if status == 429 or code in THROTTLED_CODES:
        return ThrottledError(PLATFORM, code, text, status)
    if status >= 500:
        return RetryableError(PLATFORM, code, text, status)
    return PermanentError(PLATFORM, code, text, status)


class IotdaClient:
    def __init__(self, session: requests.Session, endpoint: str, project_id: str, ak: str,
                 sk: str, *, limiter: RateLimiter, instance_id: str = "",
                 derived_region: str | None = None,
                 timeout: tuple[float, float] = TIMEOUT_S) -> None:
        self.session = session
        url = urlsplit(endpoint.rstrip("/"))
        self._schema, self._host, self._prefix = url.scheme, url.netloc, url.path
        self.endpoint = endpoint.rstrip("/")
        self.project_id, self.instance_id = project_id, instance_id
        self._credentials = BasicCredentials(ak, sk, project_id)
        self.derived_region = derived_region
        self.limiter = limiter
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"IotdaClient({self.endpoint!r}, project_id={self.project_id!r})"

    def _device(self, device_id: str) -> str:
        # ids are percent-encoded as the SDK does it (the signature covers the encoded path)
        return f"/v5/iot/{quote(self.project_id, safe='')}/devices/{quote(device_id, safe='')}"

    def create_async_command(self, device_id: str, service_id: str, command_name: str,
                             paras: dict[str, Any], *, expire_time_s: int,
                             send_strategy: str = "delay",
                             priority: Priority = Priority.USER) -> IotdaCommand:
        body: dict[str, Any] = {"service_id": service_id, "command_name": command_name,
                                "paras": paras, "expire_time": expire_time_s,
                                "send_strategy": send_strategy}
        return parse_command(self._send("POST", f"{self._device(device_id)}/async-commands",
                                        priority, body=body))

    def show_async_command(self, device_id: str, command_id: str, *,
                           priority: Priority = Priority.BACKGROUND) -> IotdaCommand:
        path = f"{self._device(device_id)}/async-commands/{quote(command_id, safe='')}"
        return parse_command(self._send("GET", path, priority))

    def list_async_commands(self, device_id: str, *, start_ms: int | None = None,
                            priority: Priority = Priority.BACKGROUND) -> list[IotdaCommand]:
        """The device's commands in the platform's queue (PENDING, SENT, DELIVERED) created at
        or after `start_ms` (whole seconds), newest first, all pages."""
        return self._all(f"{self._device(device_id)}/async-commands", start_ms, priority)

    def list_async_history(self, device_id: str, *, start_ms: int | None = None,
                           priority: Priority = Priority.BACKGROUND) -> list[IotdaCommand]:
        """The device's finished commands (and DELIVERED ones that aged out of the queue)
        created at or after `start_ms`, newest first, all pages."""
        return self._all(f"{self._device(device_id)}/async-commands-history", start_ms,
                         priority)

    # -- plumbing -------------------------------------------------------------------------
    def _all(self, path: str, start_ms: int | None, priority: Priority) -> list[IotdaCommand]:
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        if start_ms is not None:
            params["start_time"] = ms_to_iotda(start_ms)
        out: list[IotdaCommand] = []
        marker = None
        for _ in range(MAX_PAGES):
            body = self._send("GET", path, priority,
                              params={**params, "marker": marker} if marker else params)
            page = [parse_command(c) for c in body.get("commands") or []]
            out += page
            next_marker = (body.get("page") or {}).get("marker")
            if len(page) < PAGE_LIMIT or not next_marker or next_marker == marker:
                return out
            marker = next_marker
        log.warning("%s: stopped after %d pages (%d commands)", path, MAX_PAGES, len(out))
        return out

    @metered(PLATFORM)
    def _send(self, method: str, path: str, priority: Priority, *,
              params: dict[str, Any] | None = None, body: Any = None) -> dict:
        take_slot(self.limiter, PLATFORM, priority)
        try:
            return self._request(method, path, params, body)
        except ThrottledError:
            # Our budget and the platform's disagree (another client on the same project?):
            # every process keeps to a lower limit from now on; the job is retried by its actor.
            self.limiter.learn_from_throttling()
            raise

    def _request(self, method: str, path: str, params: dict[str, Any] | None,
                 body: Any) -> dict:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self.instance_id:
            headers["Instance-Id"] = self.instance_id
        data = json.dumps(body, separators=(",", ":")).encode("utf-8") \
            if body is not None else b""
        req = SdkRequest(method, self._schema, self._host, self._prefix + path,
                         query_params=sorted((params or {}).items()), header_params=headers,
                         body=data)
        if self.derived_region:
            req.header_params["X-Project-Id"] = self.project_id
            req = DerivationAKSKSigner(self._credentials).sign(req, DERIVED_SERVICE,
                                                               self.derived_region)
        else:
            req = self._credentials.sign_request(req)
        response = transport.request(self.session, PLATFORM, method, req.url, path,
                                     headers=req.header_params, data=req.body or None,
                                     timeout=self.timeout)
        error = error_for(response)
        if error is not None:
            raise error
        try:
            answer = response.json()
        except ValueError:
            raise RetryableError(PLATFORM, "bad_response", f"{method} {path}: not JSON",
                                 response.status_code) from None
        if not isinstance(answer, dict):
            raise RetryableError(PLATFORM, "bad_response", f"{method} {path}: not an object",
                                 response.status_code)
        return answer

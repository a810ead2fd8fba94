"""Raw HTTP helpers for the emulator's tests: a Huawei app, a OneNET caller, a receiver.

They speak the platforms' wire formats directly (form login, `app_key`, `api-key`, query
strings), so the tests check the emulator's HTTP surface and not some client's reading of it.
"""

from __future__ import annotations

import http
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from platforms.formats import ms_to_onenet

APP_ID, SECRET = "demo-app", "demo-secret"
API_KEY = "demo-onenet-key"
CMD = "/iocm/app/cmd/v1.4.0"
LOGIN = "/iocm/app/sec/v1.1.0/login"
HOUR_MS = 3_600_000


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


class Huawei:
    """An NA (application) talking to the emulated northbound API."""

    def __init__(self, base_url: str) -> None:
        self.base, self.http, self.token, self.refresh_token = base_url, session(), "", ""

    def login(self, app_id: str = APP_ID, secret: str = SECRET) -> requests.Response:
        r = self.http.post(self.base + LOGIN, data={"appId": app_id, "secret": secret}, timeout=5)
        if r.status_code == 200:
            self.token = r.json()["accessToken"]
            self.refresh_token = r.json()["refreshToken"]
        return r

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"app_key": APP_ID, "Authorization": f"Bearer {token or self.token}"}

    def call(self, method: str, path: str, token: str | None = None,
             headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
        return self.http.request(method, self.base + CMD + path,
                                 headers=headers if headers is not None else self.headers(token),
                                 timeout=5, **kw)

    def create(self, device_id: str, callback_url: str | None = None,
               **extra: Any) -> requests.Response:
        body = {"deviceId": device_id,
                "command": {"serviceId": "Valve", "method": "SET_STATE", "paras": {"state": 1}},
                **extra}
        if callback_url:
            body["callbackUrl"] = callback_url
        return self.call("POST", "/deviceCommands", json=body)

    def command_id(self, device_id: str, callback_url: str | None = None, **extra: Any) -> str:
        r = self.create(device_id, callback_url, **extra)
        assert r.status_code == 200, r.text
        return r.json()["commandId"]


class OneNet:
    """An application calling the emulated OneNET API."""

    def __init__(self, base_url: str) -> None:
        self.base, self.http = base_url, session()

    def call(self, method: str, path: str, params: dict[str, Any] | None = None,
             key: str | None = API_KEY, **kw: Any) -> requests.Response:
        headers = {"api-key": key} if key is not None else {}
        return self.http.request(method, self.base + path, params=params, headers=headers,
                                 timeout=5, **kw)

    def read(self, imei: str, now_ms: int, /, **params: Any) -> requests.Response:
        q = {"imei": imei, "obj_id": 3303, "obj_inst_id": 0, "res_id": 5700,
             "expired_time": ms_to_onenet(now_ms + HOUR_MS), **params}
        return self.call("GET", "/nbiot/offline", {k: v for k, v in q.items() if v is not None})

    def uuid(self, imei: str, now_ms: int, /, **params: Any) -> str:
        r = self.read(imei, now_ms, **params)
        assert r.json()["errno"] == 0, r.text
        return r.json()["data"]["uuid"]

    def detail(self, imei: str, uuid: str) -> dict[str, Any]:
        r = self.call("GET", f"/nbiot/offline/history/{uuid}", {"imei": imei})
        assert r.json()["errno"] == 0, r.text
        return r.json()["data"]


@dataclass
class Captured:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: str
    status: int
    #: The query string as sent, before any decoding.
    query: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP server in a thread that records every request (callbacks, pushes, handshakes).

    POSTs answer the next status of `statuses` (200 when empty), `delay_s` late; a GET with
    `msg` answers the OneNET verification (`msg` itself, or `verify_reply` when set).
    """

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.requests: list[Captured] = []
        self.statuses: deque[int] = deque()
        self.always: int | None = None
        self.verify_reply: str | None = None
        self.delay_s = 0.0  #: a slow receiver (the sender's timeout is under test, not ours)
        self._cond = threading.Condition()
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        req = Request(environ)
        body = req.get_data(as_text=True)
        if req.method == "GET" and "msg" in req.args:
            status, text = 200, self.verify_reply if self.verify_reply is not None \
                else req.args["msg"]
        else:
            status = self.statuses.popleft() if self.statuses else (self.always or 200)
            text = "ok"
            if self.delay_s:
                threading.Event().wait(self.delay_s)
        with self._cond:
            self.requests.append(Captured(req.method, req.path, dict(req.args),
                                          dict(req.headers), body, status,
                                          environ.get("QUERY_STRING", "")))
            self._cond.notify_all()
        start_response(f"{status} {http.HTTPStatus(status).phrase}",
                       [("Content-Type", "text/plain")])
        return [text.encode()]

    def posts(self, path: str | None = None) -> list[Captured]:
        with self._cond:
            return [r for r in self.requests
                    if r.method == "POST" and (path is None or r.path == path)]

    def wait_for(self, count: int, path: str | None = None, timeout_s: float = 5) -> list[Captured]:
        """At least `count` POSTs (to `path`) within the deadline; fails the test otherwise."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.posts(path)) >= count, timeout=timeout_s)
        got = self.posts(path)
        assert ok, f"expected {count} POSTs to {path}, got {len(got)}"
        return got

    def reset(self) -> None:
        with self._cond:
            self.requests.clear()
        self.statuses.clear()
        self.always = None
        self.verify_reply = None
        self.delay_s = 0.0

    def stop(self) -> None:
        self.server.shutdown()

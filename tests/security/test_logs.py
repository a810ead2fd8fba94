"""No secret in any log line: a full run at DEBUG, then every log file is searched.

Given web, worker and clock as real processes at LOG_LEVEL=DEBUG against the emulator, when
they serve the API (right and wrong bearer tokens), Huawei callbacks (the webhook token is in
their path; wrong tokens too), OneNET pushes (signed, AES, and forged), and create, revoke,
reconcile, re-login and token refresh against the platform, then no log file contains any
configured secret, nor any Huawei access or refresh token that was in use. The files are JSON
lines (LOG_FORMAT's default), and the jobs' lines carry the request id of what sent them: the
clock's sweep, or the API request (through the jobs that job sent).
"""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

from dev.procs import wait_until
from store import keys
from tests.conftest import API_TOKEN, WEBHOOK_TOKEN
from tests.e2e.conftest import ONENET_PUSH_TOKEN

AES_KEY = "Zyxwvutsrqponmlkjihgfedcba9876543210ABCDEFG"
HUAWEI_SECRET = "demo-secret"  # the emulator's app secret
ONENET_API_KEY = "demo-onenet-key"
IMEI = "869975031239901"
TOKEN_KEY = keys.platform_token("huawei:demo-app")
REFRESH = "/iocm/app/sec/v1.1.0/refreshToken"
#: dramatiq's main process writes its own few lines (booting, signals) in its own format.
DRAMATIQ_SUPERVISOR = re.compile(r"^\[[^]]+\] \[PID \d+\] \[MainThread\] \[dramatiq\.MainProcess\]")


def create(s, **body) -> str:
    r = s.api("POST", "/commands", json=body)
    assert r.status_code == 201, r.text
    return r.json()["command_id"]


def huawei(device: str, **extra) -> dict:
    return {"platform": "huawei", "device_id": device, "service_id": "Valve", "method": "SET",
            "paras": {"open": 1}, **extra}


def onenet() -> dict:
    return {"platform": "onenet", "device_id": IMEI, "method": "WRITE",
            "paras": {"obj_id": 3311, "obj_inst_id": 0, "mode": 1,
                      "data": [{"res_id": 5850, "val": True}]}}


def send_raw(url: str, request: bytes) -> bytes:
    """Bytes on a socket, for requests no HTTP client would send; the answer's first bytes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(64)


def test_no_secret_reaches_any_log(stack, emu, redis_client, tmp_path: Path):
    for device in ("sec-valve-1", "sec-valve-2"):
        emu.client.add_device("huawei", device, wake_period_s=0)
    emu.client.add_device("onenet", IMEI, wake_period_s=0)
    s = stack(LOG_LEVEL="DEBUG", ONENET_AES_KEY=AES_KEY, STALE_AFTER_S="3600",
              RECONCILE_AFTER_S="3600")
    # OneNET's URL handshake (a GET with the signed msg), then AES pushes
    emu.client.set_onenet_push(s.url + "/webhooks/onenet", ONENET_PUSH_TOKEN, aes_key=AES_KEY)
    seen_tokens: set[str] = set()

    def remember_tokens() -> None:
        stored = redis_client.hgetall(TOKEN_KEY)
        seen_tokens.update(v for k, v in stored.items() if k.endswith("token") and v)

    # the API, with the token and with wrong ones
    delivered = create(s, **huawei("sec-valve-1"))
    on_cmd = create(s, **onenet())
    remember_tokens()
    for header in ("Bearer wrong", f"Bearer {API_TOKEN}x", f"Basic {API_TOKEN}", API_TOKEN):
        r = s.http.get(s.url + f"/api/v1/commands/huawei/{delivered}",
                       headers={"Authorization": header}, timeout=10)
        assert r.status_code == 401
    assert s.api("GET", "/devices/huawei/no-such-device/commands").status_code == 200
    assert s.api("POST", "/commands", json=huawei("unknown-device")).status_code == 404

    # callbacks and pushes as the devices wake; forged and malformed ones beside them
    emu.client.wake("huawei", "sec-valve-1")
    emu.client.wake("onenet", IMEI)
    emu.client.advance(30)
    emu.client.flush()
    wait_until(lambda: s.record("huawei", delivered)["state"] == "SUCCEEDED", 30,
               "Huawei callbacks applied", interval_s=0.2)
    wait_until(lambda: s.record("onenet", on_cmd)["state"] == "SUCCEEDED", 30,
               "OneNET pushes applied", interval_s=0.2)
    post = s.http.post
    assert post(s.url + "/webhooks/huawei/not-the-token", json={}, timeout=10).status_code == 404
    assert post(s.url + f"/webhooks/huawei/{WEBHOOK_TOKEN}", data="{broken",
                headers={"Content-Type": "application/json"}, timeout=10).status_code == 400
    forged = {"enc_msg": "AAAA", "msg_signature": "forged", "nonce": "n0nce"}
    # answered 200 (OneNET disables a push that keeps failing), ignored, and warned about
    ignored = post(s.url + "/webhooks/onenet", json=forged, timeout=10)
    assert (ignored.status_code, ignored.json()["reason"]) == (200, "bad_signature")
    verify = s.url + "/webhooks/onenet?msg=hello&nonce=n0nce&signature=wrong"
    assert s.http.get(verify, timeout=10).status_code == 401
    # requests too broken for Flask: gunicorn itself refuses them, and logs why
    for raw in (f"POST /webhooks/huawei/{WEBHOOK_TOKEN}/\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
                f"GET /api/v1/commands HTTP/1.1\r\nAuthorization Bearer {API_TOKEN}\r\n\r\n"):
        assert send_raw(s.url, raw.encode("latin-1")).startswith(b"HTTP/1.1 400")

    # the token expires on the platform: one re-login; then, as it ages, a refresh
    assert emu.client.expire_huawei_token()
    create(s, **huawei("sec-valve-2"))
    remember_tokens()
    redis_client.hset(TOKEN_KEY, "expires_at_ms", int(time.time() * 1000) + 60_000)
    create(s, **huawei("sec-valve-2"))
    assert [c for c in emu.client.calls("huawei") if c["path"] == REFRESH], "a refresh ran"
    remember_tokens()
    stale = create(s, **huawei("sec-valve-2", stale_after_s=1))
    wait_until(lambda: s.record("huawei", stale)["state"] == "CANCELED", 30,
               "the stale command revoked", interval_s=0.2)
    remember_tokens()
    for platform, device in (("huawei", "sec-valve-2"), ("onenet", IMEI)):
        assert s.api("POST", f"/devices/{platform}/{device}/reconcile").status_code == 202
        assert s.api("POST", f"/devices/{platform}/{device}/revoke", json={"only_stale": False},
                     headers={"X-Request-ID": f"revoke-{platform}"}).status_code == 202
    wait_until(lambda: redis_client.llen("dramatiq:cmdkeeper") == 0, 30, "the jobs done",
               interval_s=0.2)
    wait_until(lambda: any(c["method"] == "GET" and c["path"].endswith("CancelTasks")
                           for c in emu.client.calls("huawei")), 30,
               "the revocation's job following its cancel task ran", interval_s=0.2)
    remember_tokens()
    s.stop()  # every line written

    assert len(seen_tokens) >= 5, "the run must have used three access tokens, two refresh ones"
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.glob("*.log")}
    assert {"web.log", "worker0.log", "clock.log"} <= set(logs)
    records = {name: json_lines(name, text) for name, text in logs.items()}
    assert any(r["level"] == "DEBUG" for r in records["worker0.log"]), \
        "the run must log at DEBUG to mean anything"
    assert {r["role"] for r in records["clock.log"]} == {"clock"}
    ids = {(r["logger"], r["message"], r.get("request_id")) for r in records["worker0.log"]}
    assert any(m.startswith("revoking 1 command(s) of huawei:sec-valve-2") and
               (rid or "").startswith("sweep-") for _, m, rid in ids), \
        "the clock's revocation carries its sweep's id"
    assert any(m.startswith("revoking 2 command(s) of huawei:sec-valve-2") and
               rid == "revoke-huawei" for _, m, rid in ids), "the API's revocation, its id"
    assert any(logger.endswith(".follow_cancel_task") and rid == "revoke-huawei"
               for logger, _, rid in ids), "the job it sent to follow its task keeps that id"
    warned = {r["message"] for r in records["web.log"]
              if r["logger"] == "cmdkeeper.webhooks" and r["level"] == "WARNING"}
    assert any("(reason bad_signature)" in m for m in warned), "the forged push is warned of"
    assert any("(reason not_found)" in m for m in warned), "so is the wrong webhook token"
    secrets = {"CMDKEEPER_API_TOKEN": API_TOKEN, "CMDKEEPER_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
               "HUAWEI_SECRET": HUAWEI_SECRET, "ONENET_API_KEY": ONENET_API_KEY,
               "ONENET_PUSH_TOKEN": ONENET_PUSH_TOKEN, "ONENET_AES_KEY": AES_KEY,
               **{f"Huawei token {t[:4]}...": t for t in seen_tokens}}
    leaks = [f"{label} in {name}" for name, text in logs.items()
             for label, secret in secrets.items() if secret in text]
    assert not leaks, leaks


def json_lines(name: str, text: str) -> list[dict]:
    """The JSON records of a log file; any other line fails, but dramatiq's supervisor's."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
        else:
            assert not line.strip() or DRAMATIQ_SUPERVISOR.match(line), f"{name}: {line[:200]}"
    return records

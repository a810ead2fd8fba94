"""The Huawei client's error mapping (a unit test of the client edge, with `responses`)."""

from __future__ import annotations

import pytest
import requests
import responses

from platforms import huawei
from platforms.errors import PermanentError, RetryableError, ThrottledError, TokenInvalidError
from platforms.huawei import HuaweiClient
from platforms.shared_token import SharedToken
from store.ratelimit import RateLimiter
from store.tokens import TokenStore

BASE = "https://iot.example:8743"
CREATE = f"{BASE}/iocm/app/cmd/v1.4.0/deviceCommands"
LOGIN = f"{BASE}/iocm/app/sec/v1.1.0/login"


@pytest.fixture
def client(redis_client):
    limiter = RateLimiter(redis_client, "huawei:app", 1000)
    return HuaweiClient(
        requests.Session(), BASE, "app", "s3cret-value", limiter=limiter,
        token_for=lambda c: SharedToken(TokenStore(redis_client, "huawei:app"), c.login))


def login_ok(token: str = "tok1") -> None:
    responses.post(LOGIN, json={"accessToken": token, "expiresIn": 3600, "refreshToken": "r"})


def create(client):
    return client.create_command("d1", "Valve", "SET", {}, callback_url="http://cb",
                                 expire_time_s=60)


@pytest.mark.parametrize("status,body,exc,code", [
    (400, {"error_code": "100022", "error_desc": "The input is invalid."}, PermanentError,
     "100022"),
    (404, {"error_code": "100418", "error_desc": "The deviceData is not existed."},
     PermanentError, "100418"),
    (200, {"error_code": "100418", "error_desc": "The deviceData is not existed."},
     PermanentError, "100418"),
    (403, {"error_code": 1010009, "error_desc": "app throttle exceed."}, ThrottledError,
     "1010009"),
    (503, {"error_code": "100501", "error_desc": "Congestion occurs"}, RetryableError, "100501"),
    (500, {"error_code": "50252", "error_desc": "Internal server error"}, RetryableError,
     "50252"),
    (502, None, RetryableError, "http_502"),
    (418, None, PermanentError, "http_418"),
])
@responses.activate
def test_errors_map_to_retryable_or_permanent_keeping_code_and_text(client, status, body, exc,
                                                                    code):
    login_ok()
    responses.post(CREATE, status=status, json=body) if body else responses.post(
        CREATE, status=status, body="<html>bad gateway</html>")
    with pytest.raises(exc) as e:
        create(client)
    assert e.value.code == code and e.value.platform == "huawei"
    if body:
        assert e.value.text == body["error_desc"]
    assert not isinstance(e.value, TokenInvalidError)


@responses.activate
def test_timeout_is_retryable(client):
    login_ok()
    responses.post(CREATE, body=requests.ReadTimeout("slow"))
    with pytest.raises(RetryableError) as e:
        create(client)
    assert e.value.code == "timeout"


@responses.activate
def test_bad_token_is_retried_once_with_a_fresh_login(client):
    login_ok("tok1")
    login_ok("tok2")
    responses.post(CREATE, status=403,
                   json={"error_code": "1010005", "error_desc": "Invalid access token"})
    responses.post(CREATE, json={"commandId": "c1", "deviceId": "d1", "status": "PENDING",
                                 "creationTime": "20240105T101500Z",
                                 "command": {"serviceId": "Valve", "method": "SET"}})
    cmd = create(client)
    assert (cmd.command_id, cmd.status, cmd.created_ms) == ("c1", "PENDING", 1704449700000)
    auths = [c.request.headers.get("Authorization") for c in responses.calls
             if c.request.url == CREATE]
    assert auths == ["Bearer tok1", "Bearer tok2"]


@responses.activate
def test_a_second_token_failure_is_not_retried_again(client):
    login_ok("tok1")
    login_ok("tok2")
    for _ in range(2):
        responses.post(CREATE, status=403, json={"error_code": "1010005", "error_desc": "bad"})
    with pytest.raises(TokenInvalidError):
        create(client)
    assert len([c for c in responses.calls if c.request.url == CREATE]) == 2


@responses.activate
def test_login_sends_a_form_and_the_secret_never_reaches_an_error(client):
    responses.post(LOGIN, status=400, json={"error_code": "100208", "error_desc": "bad secret"})
    with pytest.raises(PermanentError) as e:
        create(client)
    assert responses.calls[0].request.headers["Content-Type"].startswith(
        "application/x-www-form-urlencoded")
    assert "s3cret-value" not in str(e.value) and "s3cret-value" not in repr(client)


def test_waitting_is_read_as_waiting():
    task = huawei.parse_task({"taskId": "t", "status": "WAITTING", "totalCount": 0})
    assert task.status == "WAITING" and not task.done

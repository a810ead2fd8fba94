"""The IoTDA client's edge, with `responses`: what it signs and sends, how IoTDA's errors map
to retryable/permanent/throttled keeping code, text and request id, the budget first."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from platforms.errors import PermanentError, RateLimitTimeout, RetryableError, ThrottledError
from platforms.iotda import PENDING_LIMIT_CODES, IotdaClient
from platforms.metered import operation
from store.ratelimit import Priority, RateLimiter

BASE = "https://iotda.example.com"
DEVICE_PATH = "/v5/iot/proj-1/devices/dev-1"
CREATE = f"{BASE}{DEVICE_PATH}/async-commands"
HISTORY = f"{BASE}{DEVICE_PATH}/async-commands-history"


def make(redis_client, per_window: int = 1000, window_ms: int = 1100) -> IotdaClient:
    limiter = RateLimiter(redis_client, "iotda:proj-1", per_window, window_ms=window_ms)
    return IotdaClient(requests.Session(), BASE, "proj-1", "the-ak", "the-sk-value",
                       limiter=limiter, instance_id="inst-9")


@pytest.fixture
def client(redis_client) -> IotdaClient:
    return make(redis_client)


def create(client: IotdaClient, **kw):
    return client.create_async_command("dev-1", "Valve", "SET", {"on": 1}, expire_time_s=600,
                                       **kw)


@responses.activate
def test_a_create_is_signed_by_the_sdk_signer_and_parsed(client):
    responses.post(CREATE, json={"command_id": "c1", "device_id": "dev-1", "status": "PENDING",
                                 "created_time": "20240101T000000Z", "expire_time": 600,
                                 "send_strategy": "delay", "paras": {"on": 1}})
    c = create(client)
    assert (c.command_id, c.status, c.created_ms, c.expire_time_s) == (
        "c1", "PENDING", 1_704_067_200_000, 600)
    sent = responses.calls[0].request
    assert json.loads(sent.body) == {"service_id": "Valve", "command_name": "SET",
                                     "paras": {"on": 1}, "expire_time": 600,
                                     "send_strategy": "delay"}
    auth = sent.headers["Authorization"]
    assert auth.startswith("SDK-HMAC-SHA256 Access=the-ak, SignedHeaders=")
    assert "the-sk-value" not in auth
    assert (sent.headers["X-Project-Id"], sent.headers["Instance-Id"]) == ("proj-1", "inst-9")
    assert sent.headers["X-Sdk-Date"]


@pytest.mark.parametrize("status,body,exc,code", [
    (400, {"error_code": "IOTDA.000006", "error_msg": "Invalid input data."}, PermanentError,
     "IOTDA.000006"),
    (404, {"error_code": "IOTDA.014000", "error_msg": "The device does not exist."},
     PermanentError, "IOTDA.014000"),
    (400, {"error_code": "IOTDA.014108", "error_msg": "At most 20 PENDING"}, PermanentError,
     "IOTDA.014108"),
    (401, {"error_code": "APIG.0301", "error_msg": "Incorrect IAM authentication"},
     PermanentError, "APIG.0301"),
    (429, {"error_code": "APIG.0308", "error_msg": "The throttling threshold"}, ThrottledError,
     "APIG.0308"),
    (403, {"error_code": "IOTDA.021101", "error_msg": "Request reached the maximum rate limit."},
     ThrottledError, "IOTDA.021101"),
    (429, None, ThrottledError, "http_429"),
    (503, {"error_code": "APIG.0201", "error_msg": "Backend unavailable."}, RetryableError,
     "APIG.0201"),
    (500, {"errorCode": "IOTDA.000001", "errorMsg": "Internal server error."}, RetryableError,
     "IOTDA.000001"),
    (502, None, RetryableError, "http_502"),
    (418, None, PermanentError, "http_418"),
])
@responses.activate
def test_errors_map_to_retryable_permanent_or_throttled_keeping_code_text_and_request_id(
        client, status, body, exc, code):
    headers = {"X-Request-Id": "req-42"}
    if body:
        responses.post(CREATE, status=status, json=body, headers=headers)
    else:
        responses.post(CREATE, status=status, body="<html>no</html>", headers=headers)
    with pytest.raises(exc) as e:
        create(client)
    assert (e.value.platform, e.value.code, e.value.http_status) == ("iotda", code, status)
    assert "req-42" in e.value.text
    if body:
        assert (body.get("error_msg") or body.get("errorMsg")) in e.value.text
    if exc is PermanentError:
        assert not isinstance(e.value, RetryableError)


def test_the_pending_cap_is_known_by_its_code():
    assert "IOTDA.014108" in PENDING_LIMIT_CODES


@responses.activate
def test_throttling_lowers_the_shared_budget(client, redis_client):
    responses.post(CREATE, json={"command_id": "c0", "status": "PENDING"})
    create(client)
    responses.replace(responses.POST, CREATE, status=429,
                      json={"error_code": "APIG.0308", "error_msg": "throttled"})
    with pytest.raises(ThrottledError):
        create(client)
    assert redis_client.get(client.limiter.learned_key) is not None


@pytest.mark.parametrize("failure,code", [(requests.ReadTimeout("slow"), "timeout"),
                                          (requests.ConnectionError("refused"), "connection")])
@responses.activate
def test_timeouts_and_connection_failures_are_retryable(client, failure, code):
    responses.post(CREATE, body=failure)
    with pytest.raises(RetryableError) as e:
        create(client)
    assert e.value.code == code and "the-sk-value" not in str(e.value)


@responses.activate
def test_a_2xx_that_is_not_json_is_retryable(client):
    responses.post(CREATE, body="<html>proxy</html>")
    with pytest.raises(RetryableError) as e:
        create(client)
    assert e.value.code == "bad_response"


@responses.activate
def test_every_call_takes_a_budget_slot_first(redis_client):
    client = make(redis_client, per_window=1, window_ms=60_000)
    responses.post(CREATE, json={"command_id": "c1", "status": "PENDING"})
    create(client, priority=Priority.BACKGROUND)
    with pytest.raises(RateLimitTimeout):
        create(client, priority=Priority.BACKGROUND)
    assert len(responses.calls) == 1  # the second never reached the platform


@responses.activate
def test_lists_read_every_page_by_marker(client):
    def page(n: int, start: int, marker: str | None):
        return {"commands": [{"command_id": f"c{i}", "status": "FAILED"}
                             for i in range(start, start + n)],
                "page": {"marker": marker} if marker else {}}
    responses.get(HISTORY, json=page(50, 0, "m1"))
    responses.get(HISTORY, json=page(50, 50, "m2"))
    responses.get(HISTORY, json=page(3, 100, "m3"))
    found = client.list_async_history("dev-1", start_ms=1_704_067_200_500)
    assert [c.command_id for c in found] == [f"c{i}" for i in range(103)]
    queries = [c.request.url.partition("?")[2] for c in responses.calls]
    assert queries == ["limit=50&start_time=20240101T000000Z",
                       "limit=50&marker=m1&start_time=20240101T000000Z",
                       "limit=50&marker=m2&start_time=20240101T000000Z"]


@pytest.mark.parametrize("method,path,name", [
    ("POST", f"{DEVICE_PATH}/async-commands", "create_async_command"),
    ("GET", f"{DEVICE_PATH}/async-commands", "list_async_commands"),
    ("GET", f"{DEVICE_PATH}/async-commands/c-1", "show_async_command"),
    ("GET", f"{DEVICE_PATH}/async-commands-history", "list_async_history"),
    ("DELETE", f"{DEVICE_PATH}/async-commands/c-1", "other"),
])
def test_calls_are_counted_by_operation_without_their_ids(method, path, name):
    assert operation(method, path) == name

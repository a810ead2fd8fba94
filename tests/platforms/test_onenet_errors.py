"""The OneNET client's errno mapping and edge conversions (a unit test with `responses`)."""

from __future__ import annotations

import pytest
import requests
import responses

from platforms.errors import PermanentError, RetryableError, ThrottledError
from platforms.onenet import OneNetClient, parse_item
from platforms.onenet_gateway import observe
from store.ratelimit import RateLimiter

BASE = "http://onenet.example"
HISTORY = f"{BASE}/nbiot/offline/history"


@pytest.fixture
def client(redis_client):
    return OneNetClient(requests.Session(), BASE, "master-key-123",
                        limiter=RateLimiter(redis_client, "onenet", 1000))


@pytest.mark.parametrize("errno,exc", [
    (15, ThrottledError), (7, RetryableError), (5117, RetryableError), (5108, RetryableError),
    (1, PermanentError), (6, PermanentError), (5006, PermanentError), (8, PermanentError),
])
@responses.activate
def test_errno_maps_to_retryable_or_permanent(client, errno, exc):
    responses.put(f"{BASE}/nbiot/offline/cancel/u1",
                  json={"errno": errno, "error": f"failure: {errno}"})
    with pytest.raises(exc) as e:
        client.cancel("861", "u1")
    assert e.value.code == str(errno) and e.value.text == f"failure: {errno}"
    assert responses.calls[0].request.headers["api-key"] == "master-key-123"


@responses.activate
def test_5xx_is_retryable_and_a_missing_envelope_too(client):
    responses.put(f"{BASE}/nbiot/offline/cancel/u1", status=502, body="bad gateway")
    responses.put(f"{BASE}/nbiot/offline/cancel/u2", body="<html>")
    with pytest.raises(RetryableError):
        client.cancel("861", "u1")
    with pytest.raises(RetryableError):
        client.cancel("861", "u2")


@responses.activate
def test_history_reads_every_page_in_beijing_time(client):
    item = {"cmd_uuid": "u1", "type": "WRITE", "create_time": "2024-05-01 10:00:00",
            "expired_time": "2024-05-02 10:00:00", "send_status": 1, "remain": "3",
            "imei": "861"}
    responses.get(HISTORY, json={"errno": 0, "error": "succ",
                                 "data": {"total_count": 2, "items": [item]}})
    responses.get(HISTORY, json={"errno": 0, "error": "succ",
                                 "data": {"total_count": 2, "items": [item | {"cmd_uuid": "u2"}]}})
    found = client.history("861", 1714528800000)  # 2024-05-01T02:00Z = 10:00 Beijing
    assert [c.uuid for c in found] == ["u1", "u2"]
    assert "start=2024-05-01T10%3A00%3A00" in responses.calls[0].request.url
    assert found[0].created_ms == 1714528800000 and found[0].remain == 3


def test_history_items_map_to_states_and_attempts():
    done = parse_item({"cmd_uuid": "u", "type": "READ", "send_status": 5,
                       "confirm_status": "SUCCESS", "remain": 2,
                       "confirm_time": "2024-04-30 08:12:04"})
    o = observe(done)
    assert (o.state.value, o.platform_status, o.attempt) == ("SUCCEEDED", "5/0", 1)
    assert o.at_ms == 1714435924000
    waiting = observe(parse_item({"cmd_uuid": "w", "send_status": 1, "remain": "1"}))
    assert (waiting.state.value, waiting.attempt) == ("PENDING", 2)
    timed_out = observe(parse_item({"cmd_uuid": "t", "send_status": 5,
                                    "confirm_status": "TIME_OUT"}))
    assert timed_out.state.value == "TIMEOUT"

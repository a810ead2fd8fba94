"""`GET /metrics`: after real webhook posts and applied events, the Prometheus text (parsed
with prometheus_client's parser) counts them by platform, outcome and reason; METRICS_TOKEN
guards it."""

from __future__ import annotations

import pytest

from platforms import onenet_push
from store.commands import NewCommand
from store.model import Event, Source, State
from tests.conftest import WEBHOOK_TOKEN
from tests.metrics.conftest import value
from workers.events import apply_event

HUAWEI_URL = f"/webhooks/huawei/{WEBHOOK_TOKEN}"
PUSH_TOKEN = "metrics-push-token"


@pytest.fixture
def app(config, clock, redis_client):
    from app import create_app

    return create_app(config.with_(onenet_push_token=PUSH_TOKEN), clock=clock)


def v1(code="DELIVERED", device="d1", command="c1"):
    return {"deviceId": device, "commandId": command,
            "result": {"resultCode": code, "resultDetail": None}}


def v5(event_time: str, status="SUCCESSFUL", device="d1", command="c1"):
    return {"resource": "device.command.status", "event": "update", "event_time": event_time,
            "notify_data": {"header": {"device_id": device},
                            "body": {"command_id": command, "status": status}}}


def onenet_push_body(messages: list[dict]) -> str:
    return onenet_push.build_push_body(messages, PUSH_TOKEN, nonce="abcdefgh")


def test_callbacks_are_counted_by_platform_and_outcome(client, scrape):
    # given two new Huawei reports, one re-push of them, and a OneNET push of two reports
    assert client.post(HUAWEI_URL, json=v1(command="c1")).json == {"status": "accepted"}
    assert client.post(HUAWEI_URL, json=v1(command="c2")).json == {"status": "accepted"}
    assert client.post(HUAWEI_URL, json=v1(command="c1")).json == {"status": "duplicate"}
    pushed = [{"type": 7, "cmd_id": f"u{i}", "imei": "865820060031939", "send_status": 3}
              for i in range(2)]
    response = client.post("/webhooks/onenet", data=onenet_push_body(pushed),
                           content_type="application/json")
    assert response.json["accepted"] == 2

    # when Prometheus scrapes
    samples = scrape()

    # then each request and each report is counted once, under its platform
    assert value(samples, "cmdkeeper_callbacks_received_total", platform="huawei") == 3
    assert value(samples, "cmdkeeper_callbacks_received_total", platform="onenet") == 1
    assert value(samples, "cmdkeeper_callback_events_total", platform="huawei",
                 outcome="enqueued") == 2
    assert value(samples, "cmdkeeper_callback_events_total", platform="huawei",
                 outcome="duplicate") == 1
    assert value(samples, "cmdkeeper_callback_events_total", platform="onenet",
                 outcome="enqueued") == 2
    assert value(samples, "cmdkeeper_callbacks_rejected_total", platform="huawei",
                 reason="bad_json") == 0


def test_rejected_callbacks_are_counted_by_reason(client, scrape):
    assert client.post("/webhooks/huawei/wrong-token", json=v1()).status_code == 404
    assert client.post(HUAWEI_URL, data=b"{not json", content_type="application/json"
                       ).status_code == 400
    tampered = onenet_push_body([{"type": 7, "cmd_id": "u1", "imei": "8658", "send_status": 5}]
                                ).replace('"send_status":5', '"send_status":6')
    # answered 200 (OneNET disables a push that keeps failing), but counted as not taken
    assert client.post("/webhooks/onenet", data=tampered,
                       content_type="application/json").json["status"] == "ignored"
    bad_one = onenet_push_body([{"type": 7, "cmd_id": "u2", "imei": "8658", "send_status": 9},
                                {"type": 7, "cmd_id": "u3", "imei": "8658", "send_status": 5}])
    assert client.post("/webhooks/onenet", data=bad_one,
                       content_type="application/json").json["accepted"] == 1

    samples = scrape()

    for reason in ("not_found", "bad_json"):
        assert value(samples, "cmdkeeper_callbacks_rejected_total", platform="huawei",
                     reason=reason) == 1, reason
    for reason in ("bad_signature", "bad_status"):
        assert value(samples, "cmdkeeper_callbacks_rejected_total", platform="onenet",
                     reason=reason) == 1, reason
    assert value(samples, "cmdkeeper_callbacks_received_total", platform="huawei") == 2
    assert value(samples, "cmdkeeper_callbacks_received_total", platform="onenet") == 2
    assert value(samples, "cmdkeeper_callback_events_total", platform="huawei",
                 outcome="enqueued") == 0


def test_unknown_statuses_are_counted_once_each(client, scrape):
    assert client.post(HUAWEI_URL, json=v1(code="NOPE")).json == {"status": "accepted"}
    assert client.post(HUAWEI_URL, json=v1(code="NOPE")).json == {"status": "duplicate"}

    samples = scrape()

    assert value(samples, "cmdkeeper_callback_unknown_statuses_total", platform="huawei") == 1
    assert value(samples, "cmdkeeper_callbacks_rejected_total", platform="huawei",
                 reason="bad_status") == 0


def test_callback_lag_is_observed_when_the_callback_carries_a_platform_time(client, clock,
                                                                           scrape):
    # given the clock at 2024-01-05T10:15:30Z + 40 s, and a v5 callback of 10:15:30Z
    clock.now_ms = 1704449730000 + 40_000
    assert client.post(HUAWEI_URL, json=v5("20240105T101530Z")).status_code == 200
    # and a v1 callback, which carries no time of its own: no lag to observe
    assert client.post(HUAWEI_URL, json=v1(command="c2")).status_code == 200

    samples = scrape()

    assert value(samples, "cmdkeeper_callback_lag_seconds_count", platform="huawei") == 1
    assert value(samples, "cmdkeeper_callback_lag_seconds_sum", platform="huawei") == 40
    assert value(samples, "cmdkeeper_callback_lag_seconds_bucket", platform="huawei",
                 le="30.0") == 0
    assert value(samples, "cmdkeeper_callback_lag_seconds_bucket", platform="huawei",
                 le="60.0") == 1
    assert value(samples, "cmdkeeper_callback_lag_seconds_bucket", platform="huawei",
                 le="+Inf") == 1


def test_applied_events_and_command_states(app, client, store, clock, scrape):
    # given a command created as PENDING, then a callback's SENT and a late PENDING re-report
    store.create_command(NewCommand("huawei", "d1", "c1", "Valve", "SET", {}, clock.now_ms,
                                    clock.now_ms + 3_600_000))
    for state in (State.SENT, State.PENDING):
        event = Event("huawei", "d1", "c1", state, state.value, clock.now_ms, Source.CALLBACK)
        apply_event(store, event.to_message(), clock)

    samples = scrape()

    assert value(samples, "cmdkeeper_events_applied_total", platform="huawei",
                 source="callback", outcome="moved") == 1
    assert value(samples, "cmdkeeper_events_applied_total", platform="huawei",
                 source="callback", outcome="late") == 1
    assert value(samples, "cmdkeeper_commands", platform="huawei", state="SENT") == 1
    assert value(samples, "cmdkeeper_commands", platform="huawei", state="PENDING") == 0


def test_pending_age_histogram_and_stale_gauge(store, clock, scrape):
    # given three PENDING commands created 2 min, 20 min and 2 h ago, each stale after 1 h
    now = clock.now_ms
    for command_id, age_s in (("c1", 120), ("c2", 1200), ("c3", 7200)):
        created = now - age_s * 1000
        store.create_command(NewCommand("onenet", "8658", command_id, "", "READ", {}, created,
                                        created + 3_600_000))

    samples = scrape()

    bucket = "cmdkeeper_pending_age_seconds_bucket"
    assert value(samples, bucket, platform="onenet", le="60.0") == 0
    assert value(samples, bucket, platform="onenet", le="300.0") == 1
    assert value(samples, bucket, platform="onenet", le="1800.0") == 2
    assert value(samples, bucket, platform="onenet", le="7200.0") == 3
    assert value(samples, bucket, platform="onenet", le="+Inf") == 3
    assert value(samples, "cmdkeeper_pending_age_seconds_gsum", platform="onenet") == 8520
    assert value(samples, "cmdkeeper_oldest_pending_age_seconds", platform="onenet") == 7200
    assert value(samples, "cmdkeeper_stale_pending_commands", platform="onenet") == 1
    assert value(samples, "cmdkeeper_commands", platform="onenet", state="PENDING") == 3


def test_queue_depth_counts_ready_delayed_and_dead_messages(client, redis_client, scrape):
    assert client.post(HUAWEI_URL, json=v1()).status_code == 200
    redis_client.rpush("dramatiq:cmdkeeper.DQ", "m-delayed")
    redis_client.zadd("dramatiq:cmdkeeper.XQ", {"m-dead": 1})

    samples = scrape()

    queue = "cmdkeeper_queue_messages"
    assert value(samples, queue, queue="cmdkeeper", kind="ready") == 1
    assert value(samples, queue, queue="cmdkeeper", kind="delayed") == 1
    assert value(samples, queue, queue="cmdkeeper", kind="dead") == 1


def test_every_metric_is_named_cmdkeeper_and_described(scrape, client):
    text = client.get("/metrics").get_data(as_text=True)
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert "cmdkeeper_revocations_total" in names  # described even before anything was counted
    assert all(name.startswith("cmdkeeper_") for name in names), names


def test_metrics_token_is_required_when_set(config, clock, redis_client):
    from app import create_app

    guarded = create_app(config.with_(metrics_token="scrape-secret"), clock=clock).test_client()
    refused = guarded.get("/metrics")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert ok.status_code == 200 and b"cmdkeeper_commands" in ok.data


def test_metrics_is_open_without_a_token(client):
    assert client.get("/metrics").status_code == 200

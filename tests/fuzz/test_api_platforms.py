"""Property-based bad input on `/api/v1` with both platforms configured (the emulator, over HTTP).

Given bodies close to valid ones (hostile paras, ids, numbers, methods), when create, revoke and
reconcile run them against a real platform, then no answer is a 5xx or shows internals, a
created command is recorded as answered, and a refused request records nothing and enqueues
nothing (only the shared call budget and access token may move: a call was made).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from store import keys
from tests.conftest import API_TOKEN
from tests.fuzz.conftest import HUAWEI_DEVICES, IMEI
from tests.fuzz.hostile import (
    FUZZ,
    check_answer,
    encode,
    mutated,
    path_segment,
    snapshot,
    texts,
)

AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
QUEUES = [keys.dramatiq_queue("dramatiq", q) for q in ("cmdkeeper", "cmdkeeper-revoke")]


def queued_jobs(redis_client) -> int:
    return sum(redis_client.llen(q) for q in QUEUES)
#: Keys a call to the platform may move even when the request is refused in the end.
PLATFORM_BOOKKEEPING = (keys.rate_window(""), keys.platform_token(""))

HUAWEI = {"platform": "huawei", "device_id": HUAWEI_DEVICES[0], "service_id": "Valve",
          "method": "SET", "paras": {"open": 1}, "expire_in_s": 600, "stale_after_s": 60}
ONENET = {"platform": "onenet", "device_id": IMEI, "method": "WRITE", "expire_in_s": 600,
          "paras": {"obj_id": 3311, "obj_inst_id": 0, "mode": 1,
                    "data": [{"res_id": 5850, "val": True}]}}
ONENET_EXECUTE = {"platform": "onenet", "device_id": IMEI, "method": "EXECUTE",
                  "paras": {"obj_id": 3311, "obj_inst_id": 0, "res_id": 5850, "args": "x"}}


@pytest.fixture
def app(platform_app):
    return platform_app


@pytest.fixture
def call(client, redis_client, app):
    secrets = app.extensions["cmdkeeper"].config.secrets()

    def send(url: str, body: bytes):
        before = snapshot(redis_client, ignore=PLATFORM_BOOKKEEPING)
        queued = queued_jobs(redis_client)
        response = client.post(url, data=body, headers=AUTH)
        answer = check_answer(response, secrets)
        if response.status_code >= 400:
            assert snapshot(redis_client, ignore=PLATFORM_BOOKKEEPING) == before, answer
        elif response.status_code == 202:
            assert queued_jobs(redis_client) == queued + 1, "an accepted job is enqueued once"
        return response, answer

    return send


valid_devices = st.sampled_from([*HUAWEI_DEVICES, IMEI, "not-a-device"])
device_ids = st.one_of(valid_devices, valid_devices, path_segment())
#: Which device a create names instead of its body's own (None: the body's, a real one).
other_device = st.one_of(st.none(), st.none(), valid_devices, texts)
#: Half valid bodies (the success path, and what the platform itself refuses), half mutated.
near_valid = st.one_of(st.sampled_from([HUAWEI, ONENET, ONENET_EXECUTE]), mutated(HUAWEI),
                       mutated(ONENET), mutated(ONENET_EXECUTE))


@FUZZ
@given(body=near_valid, device=other_device)
@example(body=HUAWEI | {"paras": {"x": float("nan")}}, device=HUAWEI_DEVICES[0])
@example(body=HUAWEI | {"paras": {"x": float("inf")}}, device=HUAWEI_DEVICES[0])
@example(body=ONENET | {"paras": ONENET["paras"] | {"data": [{"res_id": 1, "val": -float("inf")}]}},
         device=IMEI)
@example(body=HUAWEI | {"paras": {"n": 10**400}}, device=HUAWEI_DEVICES[1])
def test_create_against_a_platform(call, store, body, device):
    if device is not None and body.get("device_id") in (HUAWEI_DEVICES[0], IMEI):
        body = body | {"device_id": device}
    response, answer = call("/api/v1/commands", encode(body))
    if response.status_code == 201:
        assert answer["state"] == "PENDING" and answer["paras"] == body.get("paras", {})
        assert store.get(body["platform"], answer["command_id"]) is not None


@FUZZ
@given(action=st.sampled_from(["revoke", "reconcile"]),
       platform=st.sampled_from(["huawei", "onenet"]), device=device_ids,
       body=st.one_of(st.just({}), mutated({"only_stale": False})))
def test_revoke_and_reconcile_against_a_platform(call, action, platform, device, body):
    response, _ = call(f"/api/v1/devices/{platform}/{device}/{action}", encode(body))
    assert response.status_code in (202, 308, 400, 404)


def test_a_valid_create_reaches_the_platform(call, platform_emulator):
    # guards the properties above against an app that refuses everything
    response, answer = call("/api/v1/commands", encode(HUAWEI))
    assert response.status_code == 201
    truth = platform_emulator.client.command("huawei", answer["command_id"])
    assert truth["status"] == "PENDING"



@pytest.mark.parametrize("depth", [33, 936])
def test_deeply_nested_paras_are_refused_before_the_platform(call, platform_emulator, depth):
    # 936 levels once parsed, reached the platform, then broke json.dumps further on: a 500
    paras = '{"a":' * depth + "{}" + "}" * depth
    body = ('{"platform":"huawei","device_id":"demo-valve-1","service_id":"Valve",'
            f'"method":"SET","paras":{paras}}}')
    response, answer = call("/api/v1/commands", body.encode())
    assert response.status_code == 400 and answer["error"]["code"] == "bad_json"
    assert platform_emulator.client.truth(platform="huawei") == []

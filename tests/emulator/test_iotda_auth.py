"""IoTDA request authentication in the emulator: the SDK's signatures (plain and derived) are
verified, a wrong key, region or stale date is refused with 401, IAM tokens work, and an
emulator without a key accepts unsigned calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import DerivationAKSKSigner
from huaweicloudsdkiotda.v5 import ListAsyncCommandsRequest

from tests.emulator.iotda_sdk import AK, DEVICE, PROJECT, REGION, SK, TOKEN, refused, sdk

QUEUE = f"/v5/iot/{PROJECT}/devices/{DEVICE}/async-commands"


def list_queue(client):
    return client.list_async_commands(ListAsyncCommandsRequest(device_id=DEVICE, limit=50))


def signed(url: str, path: str, *, ak: str = AK, sk: str = SK, date: str | None = None,
           derived_region: str | None = None) -> requests.Response:
    """A GET signed by the SDK's own signer functions, sent as it signed it."""
    host = url.removeprefix("http://")
    headers = {"Content-Type": "application/json"}
    if date:
        headers["X-Sdk-Date"] = date
    req = SdkRequest("GET", "http", host, path, query_params=[("limit", 10)],
                     header_params=headers)
    credentials = BasicCredentials(ak, sk, PROJECT)
    if derived_region:
        req.header_params["X-Project-Id"] = PROJECT
        req = DerivationAKSKSigner(credentials).sign(req, "iotdm", derived_region)
    else:
        req = credentials.sign_request(req)
    session = requests.Session()
    session.trust_env = False
    return session.get(req.url, headers=req.header_params, timeout=5)


def test_the_sdk_signature_is_verified_on_every_call(iotda):
    iotda.add_device()
    cmd = iotda.create()
    assert iotda.show(cmd.command_id).command_id == cmd.command_id
    assert list_queue(iotda.client).page.count == 1
    calls = iotda.emu.calls("iotda")
    assert [c["status"] for c in calls] == [200, 200, 200] and {c["app"] for c in calls} == {AK}


@pytest.mark.parametrize("ak,sk", [(AK, "wrong-secret"), ("other-ak", SK)])
def test_a_wrong_key_is_refused_with_401(iotda, ak, sk):
    iotda.add_device()
    e = refused(lambda: list_queue(sdk(iotda.url, ak, sk)))
    assert (e.status_code, e.error_code) == (401, "APIG.0301") and e.request_id
    assert iotda.emu.calls("iotda")[-1]["error_code"] == "APIG.0301"


def test_the_derived_scheme_as_the_sdk_makes_it_is_verified(iotda):
    iotda.add_device()
    client = sdk(iotda.url, derived_region=REGION)
    assert list_queue(client).commands == []


def test_a_derived_signature_for_another_region_is_refused(iotda):
    iotda.add_device()
    e = refused(lambda: list_queue(sdk(iotda.url, derived_region="eu-west-101")))
    assert (e.status_code, e.error_code) == (401, "APIG.0301") and "eu-west-101" in e.error_msg
    r = signed(iotda.url, QUEUE, derived_region=REGION, sk="wrong-secret")
    assert (r.status_code, r.json()["error_code"]) == (401, "APIG.0301")
    assert signed(iotda.url, QUEUE, derived_region=REGION).status_code == 200


def test_a_stale_signing_date_is_refused(iotda):
    iotda.add_device()
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    r = signed(iotda.url, QUEUE, date=old)
    assert (r.status_code, r.json()["error_code"]) == (401, "APIG.0301")
    assert "expired" in r.json()["error_msg"]
    assert signed(iotda.url, QUEUE).status_code == 200


def test_unsigned_calls_are_refused_and_iam_tokens_accepted(iotda):
    iotda.add_device()
    http = iotda.emu.http
    assert http.get(iotda.url + QUEUE, timeout=5).status_code == 401
    for token in (TOKEN, "older-token"):  # a newer token does not invalidate an older one
        r = http.get(iotda.url + QUEUE, headers={"X-Auth-Token": token}, timeout=5)
        assert r.status_code == 200, r.text
    r = http.get(iotda.url + QUEUE, headers={"X-Auth-Token": "forged"}, timeout=5)
    assert (r.status_code, r.json()["error_code"]) == (401, "APIG.0301")
    assert r.headers["X-Request-Id"]


def test_another_project_is_refused(iotda):
    iotda.add_device()
    e = refused(lambda: list_queue(sdk(iotda.url, project="someone-elses")))
    assert (e.status_code, e.error_code) == (403, "IOTDA.000005")


def test_without_a_configured_key_unsigned_calls_are_accepted(emu, base_url):
    emu.add_device("iotda", DEVICE, wake_period_s=0)
    http = requests.Session()
    http.trust_env = False
    r = http.post(f"{base_url}/v5/iot/any-project/devices/{DEVICE}/async-commands",
                  json={"command_name": "SET", "paras": {"on": True}}, timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "PENDING"
    assert r.headers["X-Request-Id"]
    assert list_queue(sdk(base_url)).page.count == 1  # a signature is not checked either

"""Huawei login, refresh, token invalidation and expiry, app_key handling (docs/platforms.md,
"Huawei: authentication")."""

from __future__ import annotations

from tests.emulator.helpers import APP_ID, LOGIN, SECRET, Huawei

REFRESH = "/iocm/app/sec/v1.1.0/refreshToken"


def error(r) -> tuple[int, str]:
    return r.status_code, r.json()["error_code"]


def test_login_is_a_form_post_answering_the_documented_fields(base_url, emu):
    app = Huawei(base_url)

    r = app.login()

    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"accessToken", "tokenType", "refreshToken", "expiresIn", "scope"}
    assert body["tokenType"] == "bearer" and body["scope"] == "default"
    assert body["expiresIn"] == 3600


def test_login_rejects_json_and_wrong_credentials(base_url, emu):
    app = Huawei(base_url)

    as_json = app.http.post(base_url + LOGIN, json={"appId": APP_ID, "secret": SECRET})
    wrong = app.login(secret="nope")

    assert error(as_json) == (400, "100022")
    assert error(wrong) == (400, "100208")
    assert set(wrong.json()) == {"error_code", "error_desc"}


def test_the_app_key_header_with_its_underscore_reaches_the_emulator(huawei, emu):
    with_key = huawei.call("GET", "/deviceCommands")
    without = huawei.call("GET", "/deviceCommands",
                          headers={"Authorization": f"Bearer {huawei.token}"})

    assert with_key.status_code == 200
    assert error(without) == (401, "100025")
    assert emu.calls("huawei")[-2]["app"] == APP_ID


def test_each_login_invalidates_the_earlier_token(huawei, base_url):
    first = huawei.token
    other = Huawei(base_url)
    assert other.login().status_code == 200

    assert error(huawei.call("GET", "/deviceCommands", token=first)) == (403, "1010005")
    assert other.call("GET", "/deviceCommands").status_code == 200


def test_a_token_expires_after_the_configured_ttl(base_url, emu):
    emu.set_faults(token_ttl_s=60)
    app = Huawei(base_url)
    assert app.login().json()["expiresIn"] == 60

    emu.advance(59)
    still_valid = app.call("GET", "/deviceCommands")
    emu.advance(1)
    expired = app.call("GET", "/deviceCommands")

    assert still_valid.status_code == 200
    assert error(expired) == (403, "1010005")


def test_refresh_issues_a_new_token_and_invalidates_the_old_one(huawei, base_url):
    old = huawei.token
    body = {"appId": APP_ID, "secret": SECRET, "refreshToken": huawei.refresh_token}

    r = huawei.http.post(base_url + REFRESH, json=body)
    bad = huawei.http.post(base_url + REFRESH, json={**body, "refreshToken": "x"})

    assert r.status_code == 200 and r.json()["accessToken"] != old
    assert error(huawei.call("GET", "/deviceCommands", token=old)) == (403, "1010005")
    assert huawei.call("GET", "/deviceCommands", token=r.json()["accessToken"]).status_code == 200
    assert error(bad) == (400, "100206")


def test_wrong_app_key_missing_bearer_and_forced_expiry_are_1010005(huawei, emu):
    wrong_key = huawei.call("GET", "/deviceCommands",
                            headers={"app_key": "other", "Authorization": f"Bearer {huawei.token}"})
    no_bearer = huawei.call("GET", "/deviceCommands", headers={"app_key": APP_ID})
    assert emu.expire_huawei_token() is True
    expired = huawei.call("GET", "/deviceCommands")

    assert error(wrong_key) == (403, "1010005")
    assert error(no_bearer) == (403, "1010005")
    assert error(expired) == (403, "1010005")


def test_acting_for_an_unauthorised_app_is_100217(huawei):
    r = huawei.call("GET", "/deviceCommands", params={"appId": "someone-else"})

    assert error(r) == (403, "100217")

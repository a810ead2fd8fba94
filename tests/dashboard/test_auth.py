"""Signing in to the dashboard: the bearer token, or a login cookie derived from it (never the
token itself), which expires, dies with a token change, and is cleared at logout; the token is
never logged."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from dashboard.auth import (
    COOKIE,
    COOKIE_MAX_AGE_S,
    CSRF_FIELD,
    csrf_token,
    safe_next,
    session_valid,
    session_value,
)
from tests.conftest import API_TOKEN


@pytest.fixture(autouse=True)
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_a_visitor_is_sent_to_the_login_page(client):
    r = client.get("/devices/huawei/dev-a?x=1")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=/devices/huawei/dev-a?x%3D1"
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and 'name="token"' in page.get_data(as_text=True)
    assert 'value="/devices/huawei/dev-a?x=1"' in page.get_data(as_text=True)


def test_signing_in_sets_a_cookie_derived_from_the_token_never_the_token(client, clock,
                                                                         all_logs):
    r = client.post("/login", data={"token": API_TOKEN, "next": "/devices/huawei/dev-a"})
    assert r.status_code == 302 and r.headers["Location"] == "/devices/huawei/dev-a"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}={session_value(API_TOKEN, clock())};")
    assert API_TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert f"Max-Age={COOKIE_MAX_AGE_S}" in cookie
    assert client.get("/").status_code == 200
    assert "dashboard sign-in" in all_logs.text and API_TOKEN not in all_logs.text


def test_the_cookie_is_secure_behind_https(client):
    r = client.post("/login", data={"token": API_TOKEN},
                    headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["Set-Cookie"]


def test_a_wrong_token_is_refused_and_changes_nothing(client, all_logs):
    guess = "guess-Zx81"
    r = client.post("/login", data={"token": guess, "next": "/"})
    assert r.status_code == 401
    assert "That is not the API token." in r.get_data(as_text=True)
    assert "Set-Cookie" not in r.headers
    assert client.get("/").status_code == 302
    assert "sign-in refused" in all_logs.text
    assert guess not in all_logs.text and API_TOKEN not in all_logs.text


def test_a_forged_or_tampered_cookie_gets_nowhere(client, clock):
    value = session_value(API_TOKEN, clock())
    expires, signature = value.split(".")
    for forged in (API_TOKEN, signature, f"{int(expires) + 86_400}.{signature}",
                   f"{expires}.{signature[:-1]}0", f"{expires}.", "²³.x", ""):
        client.set_cookie(COOKIE, forged)
        assert client.get("/").status_code == 302, forged


def test_a_cookie_expires_and_a_new_token_signs_everyone_out(client, clock, app):
    client.set_cookie(COOKIE, session_value(API_TOKEN, clock()))
    assert client.get("/").status_code == 200
    clock.advance(COOKIE_MAX_AGE_S - 1)
    assert client.get("/").status_code == 200
    clock.advance(1)
    assert client.get("/").status_code == 302
    assert not session_valid(session_value("old-token", clock()), API_TOKEN, clock())


def test_a_bearer_token_works_too_and_a_wrong_one_does_not(client, auth):
    assert client.get("/", headers=auth).status_code == 200
    r = client.get("/", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 302 and "Set-Cookie" not in r.headers


def test_logout_ends_the_session(client, clock):
    session = session_value(API_TOKEN, clock())
    client.set_cookie(COOKIE, session)
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 403  # without the session's CSRF token
    r = client.post("/logout", data={CSRF_FIELD: csrf_token(API_TOKEN, session)})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert f"{COOKIE}=;" in r.headers["Set-Cookie"]
    assert client.get("/").status_code == 302
    assert client.get("/logout").status_code == 405  # a link cannot sign anyone out


def test_the_login_page_of_a_signed_in_operator_goes_on(client, clock):
    client.set_cookie(COOKIE, session_value(API_TOKEN, clock()))
    r = client.get("/login?next=/devices/huawei/d")
    assert r.status_code == 302 and r.headers["Location"] == "/devices/huawei/d"


def test_no_unset_token_ever_matches(config, clock):
    assert not session_valid(session_value("", clock()), "", clock())
    assert replace(config, api_token="").api_token == ""


@pytest.mark.parametrize("target,expected", [
    ("/devices/huawei/d", "/devices/huawei/d"), ("//evil.example/", "/"),
    ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("/a\r\nSet-Cookie: x", "/"),
    (None, "/"), ("", "/")])
def test_after_signing_in_only_paths_of_this_site(target, expected):
    assert safe_next(target) == expected


def test_an_open_redirect_is_refused_at_login(client):
    r = client.post("/login", data={"token": API_TOKEN, "next": "//evil.example/"})
    assert r.headers["Location"] == "/"

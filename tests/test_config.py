"""Config.from_env: defaults, validation that names the variable, secrets kept out of repr."""

from __future__ import annotations

import pytest
import redis

from cmdkeeper.config import Config, ConfigError
from store.connection import resolve_url


def test_defaults_follow_the_design():
    c = Config.from_env({})
    assert (c.stale_after_s, c.reconcile_after_s, c.sweep_interval_s) == (3600, 900, 60)
    assert c.huawei_rate_per_min == 100 and c.redis_url is None and c.supersede is False


def test_values_are_read_from_the_environment():
    c = Config.from_env({"REDIS_URL": "redis://h:1/2", "STALE_AFTER_S": "60", "SUPERSEDE": "1",
                         "PUBLIC_URL": "https://ck.example/"})
    assert (c.redis_url, c.stale_after_s, c.supersede) == ("redis://h:1/2", 60, True)
    assert c.public_url == "https://ck.example"


@pytest.mark.parametrize("env,name", [
    ({"STALE_AFTER_S": "soon"}, "STALE_AFTER_S"),
    ({"SWEEP_INTERVAL_S": "0"}, "SWEEP_INTERVAL_S"),
    ({"SUPERSEDE": "maybe"}, "SUPERSEDE"),
])
def test_malformed_values_fail_naming_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env)


def test_require_names_every_missing_secret():
    with pytest.raises(ConfigError) as e:
        Config.from_env({}).require("api_token", "webhook_token", "huawei_secret")
    assert "CMDKEEPER_API_TOKEN" in str(e.value) and "CMDKEEPER_WEBHOOK_TOKEN" in str(e.value)
    assert "HUAWEI_SECRET" in str(e.value)


def test_create_app_fails_fast_without_tokens(redis_url):
    from app import create_app

    with pytest.raises(ConfigError, match="CMDKEEPER_API_TOKEN"):
        create_app(Config(redis_url=redis_url))


def test_secrets_never_appear_in_repr():
    c = Config(api_token="sekrit-api", webhook_token="sekrit-hook", huawei_secret="sekrit-hw")
    assert "sekrit" not in repr(c)
    assert set(c.secrets()) == {"sekrit-api", "sekrit-hook", "sekrit-hw"}


def test_heroku_redis_self_signed_tls_is_opted_into_not_assumed():
    heroku = "rediss://:pw@ec2-1-2-3-4.compute-1.amazonaws.com:12345"
    assert resolve_url(Config.from_env({"REDIS_URL": heroku})) == heroku
    insecure = Config.from_env({"REDIS_URL": heroku, "REDIS_INSECURE_TLS": "1"})
    assert resolve_url(insecure) == heroku + "?ssl_cert_reqs=none"
    plain = Config.from_env({"REDIS_URL": "redis://h:6379/0", "REDIS_INSECURE_TLS": "1"})
    assert resolve_url(plain) == "redis://h:6379/0"
    pool = redis.ConnectionPool.from_url(resolve_url(insecure))
    assert pool.connection_kwargs["ssl_cert_reqs"] == "none"


def test_iotda_settings_are_read_and_its_secrets_kept_out_of_repr():
    c = Config.from_env({"IOTDA_ENDPOINT": "https://iotda.example.com/", "IOTDA_PROJECT_ID": "p",
                         "IOTDA_AK": "ak", "IOTDA_SK": "sekrit-sk", "IOTDA_INSTANCE_ID": "i",
                         "IOTDA_RATE_PER_S": "200", "IOTDA_WEBHOOK_TOKEN": "sekrit-path",
                         "IOTDA_IN_FLIGHT_PER_DEVICE": "2"})
    assert (c.iotda_endpoint, c.iotda_project_id, c.iotda_ak, c.iotda_instance_id) == (
        "https://iotda.example.com", "p", "ak", "i")
    assert (c.iotda_rate_per_s, c.iotda_in_flight_per_device) == (200, 2)
    assert "sekrit" not in repr(c) and {"sekrit-sk", "sekrit-path"} <= set(c.secrets())
    defaults = Config.from_env({})
    assert (defaults.iotda_endpoint, defaults.iotda_in_flight_per_device) == ("", 1)
    with pytest.raises(ConfigError, match="IOTDA_IN_FLIGHT_PER_DEVICE"):
        Config.from_env({"IOTDA_IN_FLIGHT_PER_DEVICE": "0"})
    with pytest.raises(ConfigError, match="IOTDA_SK"):
        Config.from_env({"IOTDA_ENDPOINT": "https://x"}).require("iotda_endpoint", "iotda_sk")


def test_iotda_in_flight_stays_below_the_platforms_cap_and_the_push_token_falls_back():
    with pytest.raises(ConfigError, match="at most 20"):
        Config.from_env({"IOTDA_IN_FLIGHT_PER_DEVICE": "21"})
    assert Config.from_env({"IOTDA_IN_FLIGHT_PER_DEVICE": "20"}).iotda_in_flight_per_device == 20
    assert Config.from_env({"CMDKEEPER_WEBHOOK_TOKEN": "w"}).iotda_push_token == "w"
    assert Config.from_env({"CMDKEEPER_WEBHOOK_TOKEN": "w",
                            "IOTDA_WEBHOOK_TOKEN": "i"}).iotda_push_token == "i"

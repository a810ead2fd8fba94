"""Settings from the environment and the command line; the clock and the engine in-process."""

from __future__ import annotations

import json

import pytest

from emulator.__main__ import parse_args
from emulator.clock import EmulatedClock
from emulator.engine import Engine
from emulator.settings import Settings, SettingsError, from_env
from emulator.testing import start_emulator
from tests.emulator.helpers import Huawei


def test_defaults_need_no_environment():
    s = from_env({})

    assert (s.port, s.speed, s.seed) == (8743, 1.0, None)
    assert (s.huawei_app_id, s.huawei_secret, s.onenet_api_key) == (
        "demo-app", "demo-secret", "demo-onenet-key")
    assert s.faults.huawei_rate_limit == 100 and s.faults.token_ttl_s == 3600


def test_environment_variables_set_settings_and_faults():
    s = from_env({"EMULATOR_PORT": "9000", "EMULATOR_SPEED": "60", "EMULATOR_SEED": "4",
                  "EMULATOR_START_MS": "2024-01-01T00:00:00Z",
                  "EMULATOR_FAULTS": '{"drop_p": 0.25}', "EMULATOR_TOKEN_TTL_S": "120",
                  "EMULATOR_HUAWEI_NOTIFY_EXPIRED_CANCELED": "yes",
                  "EMULATOR_ONENET_PUSH_ON": "4,5,6",
                  "EMULATOR_DEVICES": '[{"platform": "huawei", "device_id": "d"}]'})

    assert (s.port, s.speed, s.seed, s.start_ms) == (9000, 60.0, 4, 1_704_067_200_000)
    assert s.faults.drop_p == 0.25 and s.faults.token_ttl_s == 120
    assert s.huawei_notify_expired_canceled is True and s.onenet_push_on == (4, 5, 6)
    assert s.devices == ({"platform": "huawei", "device_id": "d"},)


@pytest.mark.parametrize("env, name", [
    ({"EMULATOR_PORT": "http"}, "EMULATOR_PORT"),
    ({"EMULATOR_FAULTS": '{"drop_p": 3}'}, "EMULATOR_FAULTS"),
    ({"EMULATOR_ONENET_AES_BLOCK": "24"}, "EMULATOR_ONENET_AES_BLOCK"),
    ({"EMULATOR_HUAWEI_TASK_WAITING": "LATER"}, "EMULATOR_HUAWEI_TASK_WAITING"),
    ({"EMULATOR_HUAWEI_RATE_LIMIT": "-1"}, "EMULATOR_HUAWEI_RATE_LIMIT"),
    ({"EMULATOR_IOTDA_AK": "ak-without-sk"}, "EMULATOR_IOTDA_SK"),
    ({"EMULATOR_IOTDA_PUSH_ON": "SENT,CANCELED"}, "EMULATOR_IOTDA_PUSH_ON"),
    ({"EMULATOR_IOTDA_IMMEDIATE_OFFLINE": "LATER"}, "EMULATOR_IOTDA_IMMEDIATE_OFFLINE"),
])
def test_a_bad_setting_fails_naming_its_variable(env, name):
    with pytest.raises(SettingsError, match=name):
        from_env(env)


def test_iotda_settings_come_from_the_environment():
    s = from_env({"EMULATOR_IOTDA_AK": "ak", "EMULATOR_IOTDA_SK": "sk",
                  "EMULATOR_IOTDA_AUTH_TOKENS": "t1, t2", "EMULATOR_IOTDA_PUSH_ON": "EXPIRED",
                  "EMULATOR_IOTDA_PUSH_URL": "http://127.0.0.1:5000/webhooks/iotda/x",
                  "EMULATOR_IOTDA_PUSH_TIMEOUT_S": "0.5", "EMULATOR_IOTDA_RATE_LIMIT": "50"})

    assert (s.iotda_ak, s.iotda_sk, s.iotda_auth_tokens) == ("ak", "sk", ("t1", "t2"))
    assert s.iotda_push_on == ("EXPIRED",) and s.iotda_push_timeout_s == 0.5
    assert s.iotda_push_url.endswith("/webhooks/iotda/x") and s.faults.iotda_rate_limit == 50
    assert from_env({}).iotda_ak is None  # no key by default: unsigned calls are accepted


def test_command_line_flags_override_the_environment():
    base = from_env({"EMULATOR_PORT": "9000", "EMULATOR_SEED": "1"})

    s = parse_args(["--port", "9100", "--speed", "0", "--faults", '{"delay_p": 1}',
                    "--rate-limit", "10", "--huawei-secret", "s3"], base)

    assert (s.port, s.seed, s.speed, s.huawei_secret) == (9100, 1, 0.0, "s3")
    assert s.faults.delay_p == 1.0 and s.faults.huawei_rate_limit == 10


def test_settings_reach_a_started_emulator(tmp_path):
    env = {"EMULATOR_HUAWEI_APP_ID": "my-app", "EMULATOR_HUAWEI_SECRET": "my-secret",
           "EMULATOR_DEVICES": json.dumps([{"platform": "huawei", "device_id": "preset"}])}
    with start_emulator(env=env, faults={"token_ttl_s": 42}, log=tmp_path / "log") as emu:
        app = Huawei(emu.url)
        login = app.login(app_id="my-app", secret="my-secret")
        devices = emu.client.devices()

    assert login.status_code == 200 and login.json()["expiresIn"] == 42
    assert [d["device_id"] for d in devices] == ["preset"]
    assert emu.proc.poll() is not None


def test_the_clock_runs_at_its_speed_and_never_backwards():
    real = [100.0]
    clock = EmulatedClock(1_000_000, speed=60, monotonic=lambda: real[0])

    real[0] += 1
    at_60 = clock.now_ms()
    clock.set_speed(0)
    real[0] += 10
    frozen = clock.now_ms()
    clock.advance(5)

    assert at_60 == 1_060_000 and frozen == 1_060_000
    assert clock.now_ms() == 1_065_000
    assert clock.real_seconds_until(2_000_000) is None
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_the_engine_runs_events_in_time_order_stamped_with_their_own_time():
    engine = Engine(EmulatedClock(0, speed=0))
    seen: list[tuple[str, int]] = []
    engine.at(2000, lambda: seen.append(("b", engine.now_ms)))
    engine.at(1000, lambda: seen.append(("a", engine.now_ms)))
    engine.at(2000, lambda: seen.append(("c", engine.now_ms)))
    cancelled = engine.at(1500, lambda: seen.append(("x", engine.now_ms)))
    engine.cancel(cancelled)

    ran = engine.run_until(5000)

    assert seen == [("a", 1000), ("b", 2000), ("c", 2000)]
    assert ran == 3 and engine.now_ms == 5000 and engine.next_due_ms() is None


def test_settings_are_immutable_and_overridable():
    s = Settings()

    assert s.with_overrides(port=1, seed=None).port == 1
    assert s.with_overrides(port=1).seed is None

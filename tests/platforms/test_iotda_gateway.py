"""The IoTDA gateway against the emulator (signatures checked): create with the time left as
expire_time, show and history as Observed, every page, no cancel; the client's error mapping
with the emulator's faults; the factory builds it from IOTDA_* settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from emulator.client import EmulatorClient
from emulator.testing import TEST_START_MS, RunningEmulator, start_emulator
from platforms.errors import PermanentError, RetryableError, ThrottledError
from platforms.factory import build_gateways
from platforms.gateway import CreateRequest
from platforms.iotda import PENDING_LIMIT_CODES, IotdaClient
from platforms.iotda_gateway import IotdaGateway
from store.model import State
from store.ratelimit import Priority, RateLimiter
from tests.emulator.iotda_sdk import AK, DEVICE, IOTDA_ENV, PROJECT, REGION, SK

P = Priority.USER


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    log = tmp_path_factory.mktemp("emulator-iotda-gw") / "emulator.log"
    emu = start_emulator(seed=1, speed=0, log=log, env=IOTDA_ENV)
    yield emu
    emu.stop()


@pytest.fixture
def emu(emulator: RunningEmulator) -> EmulatorClient:
    emulator.client.reset(seed=1, start_ms=TEST_START_MS, speed=0)
    emulator.client.add_device("iotda", DEVICE, wake_period_s=0, awake_s=3600)
    return emulator.client


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def client(emulator: RunningEmulator, redis_client, *, sk: str = SK,
           derived_region: str | None = None) -> IotdaClient:
    limiter = RateLimiter(redis_client, f"iotda:{PROJECT}", 1000, window_ms=1100)
    return IotdaClient(session(), emulator.url, PROJECT, AK, sk, limiter=limiter,
                       derived_region=derived_region)


@pytest.fixture
def gateway(emulator, emu, redis_client, clock) -> IotdaGateway:
    clock.now_ms = TEST_START_MS
    return IotdaGateway(client(emulator, redis_client), clock)


def request(expire_in_s: int = 600, method: str = "SET_STATE") -> CreateRequest:
    return CreateRequest(DEVICE, "Valve", method, {"state": 1}, "unused-on-iotda", expire_in_s)


def test_create_hands_over_the_time_left_as_expire_time_cached_until_the_device_reports(
        gateway, emu):
    created = gateway.create(request(600), P)
    assert (created.created_ms, created.expire_at_ms, created.platform_status) == (
        TEST_START_MS, TEST_START_MS + 600_000, "PENDING")
    truth = emu.command("iotda", created.command_id)
    assert (truth["send_strategy"], truth["expire_ms"]) == ("delay", TEST_START_MS + 600_000)
    assert truth["command"] == {"service_id": "Valve", "command_name": "SET_STATE",
                                "paras": {"state": 1}}
    emu.advance(600)
    assert gateway.show(DEVICE, created.command_id, P).state is State.EXPIRED


def test_no_time_left_is_refused_and_more_than_two_days_is_capped(gateway, emu):
    with pytest.raises(PermanentError) as e:
        gateway.create(request(0), P)
    assert e.value.code == "no_time_left" and emu.truth("iotda") == []
    capped = gateway.create(request(10 * 86400), P)
    assert capped.expire_at_ms == TEST_START_MS + 172800_000
    assert emu.command("iotda", capped.command_id)["expire_ms"] == TEST_START_MS + 172800_000


def test_show_and_history_observe_every_state_with_what_fills_the_record(gateway, emu):
    done = gateway.create(request(method="FIRST"), P).command_id
    expired = gateway.create(request(60, method="SHORT"), P).command_id
    emu.update_device("iotda", DEVICE, result_delay_s=7200)
    emu.wake("iotda", DEVICE)  # FIRST goes out: SENT, then DELIVERED, answered in 2 h
    emu.advance(120)           # SHORT expired in the cache meanwhile
    waiting = gateway.create(request(3600, method="LATER"), P).command_id

    seen = {o.command_id: o for o in gateway.history(DEVICE, TEST_START_MS, P)}
    assert {k: (o.state, o.platform_status) for k, o in seen.items()} == {
        done: (State.DELIVERED, "DELIVERED"), expired: (State.EXPIRED, "EXPIRED"),
        waiting: (State.PENDING, "PENDING")}
    assert seen[expired].at_ms == TEST_START_MS + 60_000
    assert seen[done].fill["method"] == "FIRST" and "paras" not in seen[done].fill
    assert seen[waiting].fill["expire_at"] == str(TEST_START_MS + 120_000 + 3600_000)

    emu.advance(7200)
    shown = gateway.show(DEVICE, done, P)
    assert (shown.state, shown.fill["paras"]) == (State.SUCCEEDED, '{"state":1}')
    assert gateway.history(DEVICE, TEST_START_MS + 61_000, P)[0].command_id == waiting


def test_history_reads_every_page(gateway, emulator, emu, redis_client):
    c = client(emulator, redis_client)
    for i in range(60):  # immediately, to a sleeping device: straight to history as FAILED
        c.create_async_command(DEVICE, "Valve", f"C{i}", {}, expire_time_s=0,
                               send_strategy="immediately")
    emu.sleep("iotda", DEVICE)
    since = emu.calls("iotda")[-1]["seq"]
    found = gateway.history(DEVICE, TEST_START_MS, P)
    assert len(found) == 60 and {o.state for o in found} == {State.FAILED}
    paths = [call["path"].rpartition("/")[2] for call in emu.calls("iotda", since)]
    assert paths == ["async-commands", "async-commands-history", "async-commands-history"]


def test_there_is_no_cancel_at_the_platform(gateway, emu):
    command_id = gateway.create(request(), P).command_id
    for call in (lambda: gateway.cancel_one(DEVICE, command_id, P),
                 lambda: gateway.cancel_all(DEVICE, P),
                 lambda: gateway.follow(DEVICE, "task", P)):
        with pytest.raises(PermanentError) as e:
            call()
        assert e.value.code == "no_cancel"
    assert emu.command("iotda", command_id)["status"] == "PENDING"


def test_platform_errors_map_through_the_gateway(gateway, emu):
    with pytest.raises(PermanentError) as e:
        gateway.create(CreateRequest("nobody", "Valve", "SET", {}, "", 60), P)
    assert e.value.code == "IOTDA.014000" and e.value.http_status == 404
    emu.sleep("iotda", DEVICE)
    for _ in range(20):
        gateway.create(request(), P)
    with pytest.raises(PermanentError) as e:
        gateway.create(request(), P)
    assert e.value.code in PENDING_LIMIT_CODES
    emu.set_faults(congestion_p=1)
    with pytest.raises(RetryableError) as e:
        gateway.history(DEVICE, TEST_START_MS, P)
    assert (e.value.code, e.value.http_status) == ("APIG.0201", 503)


def test_throttling_is_learned_by_the_budget(gateway, emu, redis_client):
    emu.set_faults(iotda_rate_limit=1, iotda_rate_window_s=60)
    gateway.create(request(), P)
    with pytest.raises(ThrottledError) as e:
        gateway.create(request(), P)
    assert e.value.code == "APIG.0308"
    assert redis_client.get(gateway.client.limiter.learned_key) is not None


def test_a_wrong_secret_is_permanent_and_the_derived_scheme_is_accepted(emulator, emu,
                                                                        redis_client):
    with pytest.raises(PermanentError) as e:
        client(emulator, redis_client, sk="wrong").list_async_commands(DEVICE)
    assert (e.value.code, e.value.http_status) == ("APIG.0301", 401)
    derived = client(emulator, redis_client, derived_region=REGION)
    assert derived.list_async_commands(DEVICE) == []
    # only a derived signature names a region: another one is refused, so it was derived
    with pytest.raises(PermanentError) as e:
        client(emulator, redis_client, derived_region="eu-west-101").list_async_commands(DEVICE)
    assert e.value.code == "APIG.0301" and "eu-west-101" in e.value.text


def test_the_factory_builds_an_iotda_gateway_from_its_settings(emulator, emu, config,
                                                               redis_client, clock):
    cfg = config.with_(iotda_endpoint=emulator.url, iotda_project_id=PROJECT, iotda_ak=AK,
                       iotda_sk=SK, iotda_rate_per_s=20)
    gateways = build_gateways(cfg, redis_client, clock)
    iotda = gateways["iotda"]
    assert iotda.platform == "iotda" and iotda.client.limiter.window_ms == 1100
    assert iotda.client.limiter.limit == 20  # calls per (one-second) window
    assert iotda.history(DEVICE, TEST_START_MS, P) == []
    assert "iotda" not in build_gateways(config, redis_client, clock)

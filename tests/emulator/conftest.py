"""Fixtures of the emulator's tests: one real `python -m emulator` process for the session,
reset to a fixed seed and start time before each test; an HTTP receiver for callbacks and
pushes; raw Huawei and OneNET callers; and a second emulator that checks IoTDA signatures, with
the official IoTDA SDK pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.client import EmulatorClient
from emulator.testing import TEST_START_MS, RunningEmulator, start_emulator
from tests.emulator.helpers import Huawei, OneNet, Receiver
from tests.emulator.iotda_sdk import IOTDA_ENV, Iotda

SEED = 1


@pytest.fixture(scope="session")
def running_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    emulator = start_emulator(seed=SEED, speed=0, log=log)
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(running_emulator: RunningEmulator) -> EmulatorClient:
    """The emulator's control client, on a fresh emulator: seed 1, 2024-01-01T00:00Z, speed 0."""
    client = running_emulator.client
    client.flush()  # nothing of the previous test still on its way to the receiver
    client.reset(seed=SEED, start_ms=TEST_START_MS, speed=0)
    return client


@pytest.fixture
def base_url(running_emulator: RunningEmulator) -> str:
    return running_emulator.url


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(receiver_server: Receiver, emu: EmulatorClient) -> Receiver:
    """The receiver, emptied after the emulator's reset (so no late delivery leaks in)."""
    receiver_server.reset()
    return receiver_server


@pytest.fixture
def huawei(emu: EmulatorClient, base_url: str) -> Huawei:
    """A Huawei app, logged in."""
    app = Huawei(base_url)
    assert app.login().status_code == 200
    return app


@pytest.fixture
def onenet(emu: EmulatorClient, base_url: str) -> OneNet:
    return OneNet(base_url)


@pytest.fixture
def start_ms() -> int:
    return TEST_START_MS


@pytest.fixture(scope="session")
def iotda_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator with an IoTDA key pair, project, region and IAM token configured."""
    log = tmp_path_factory.mktemp("emulator-iotda") / "emulator.log"
    emulator = start_emulator(seed=SEED, speed=0, log=log, env=IOTDA_ENV)
    yield emulator
    emulator.stop()


@pytest.fixture
def iotda(iotda_emulator: RunningEmulator, receiver_server: Receiver) -> Iotda:
    """The official SDK on the IoTDA emulator, reset (seed 1, 2024-01-01T00:00Z, speed 0)."""
    client = iotda_emulator.client
    client.flush()
    client.reset(seed=SEED, start_ms=TEST_START_MS, speed=0)
    receiver_server.reset()
    return Iotda(iotda_emulator.url, client, receiver_server)

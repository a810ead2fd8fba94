"""The official Huawei IoTDA SDK pointed at the emulator, for the emulator's IoTDA tests.

The tests speak to the emulator through `huaweicloudsdkiotda` itself (signing included), so they
check the emulator against the client real tenants use, not against our reading of the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkiotda.v5 import (
    AsyncDeviceCommandRequest,
    CreateAsyncCommandRequest,
    IoTDAClient,
    ListAsyncCommandsRequest,
    ListAsyncHistoryCommandsRequest,
    ShowAsyncDeviceCommandRequest,
)

from emulator.client import EmulatorClient
from tests.emulator.helpers import Receiver

AK, SK, PROJECT, REGION, TOKEN = "demo-ak", "demo-sk-0123456789", "demo-project", "cn-north-4", \
    "demo-iam-token"
IOTDA_ENV = {"EMULATOR_IOTDA_AK": AK, "EMULATOR_IOTDA_SK": SK,
             "EMULATOR_IOTDA_PROJECT_ID": PROJECT, "EMULATOR_IOTDA_REGION": REGION,
             "EMULATOR_IOTDA_AUTH_TOKENS": f"{TOKEN},older-token"}
DEVICE = "demo-product_869975031234561"


def sdk(url: str, ak: str = AK, sk: str = SK, project: str = PROJECT, *,
        derived_region: str | None = None) -> IoTDAClient:
    """An SDK client on `url`: plain AK/SK signing, or the derived scheme for `derived_region`
    (the SDK derives when given a region and a predicate, as it does for instance endpoints)."""
    config = HttpConfig.get_default_config()
    config.timeout = (2, 10)
    credentials = BasicCredentials(ak, sk, project)
    builder = IoTDAClient.new_builder().with_http_config(config)
    if derived_region:
        credentials.with_derived_predicate(BasicCredentials.get_default_derived_predicate())
        builder = builder.with_region(Region(derived_region, url))
    else:
        builder = builder.with_endpoint(url)
    return builder.with_credentials(credentials).build()


@dataclass
class Iotda:
    """The IoTDA emulator: its URL, control client, the push receiver, and an SDK client."""

    url: str
    emu: EmulatorClient
    receiver: Receiver

    def __post_init__(self) -> None:
        self.client = sdk(self.url)

    def add_device(self, device_id: str = DEVICE, **behaviour: Any) -> str:
        behaviour.setdefault("wake_period_s", 0)
        return self.emu.add_device("iotda", device_id, **behaviour)["device_id"]

    def create(self, device_id: str = DEVICE, name: str = "SET_STATE",
               paras: dict[str, Any] | None = None, **fields: Any):
        body = AsyncDeviceCommandRequest(service_id="Valve", command_name=name,
                                         paras={"state": 1} if paras is None else paras,
                                         **fields)
        return self.client.create_async_command(
            CreateAsyncCommandRequest(device_id=device_id, body=body))

    def show(self, command_id: str, device_id: str = DEVICE):
        return self.client.show_async_device_command(
            ShowAsyncDeviceCommandRequest(device_id=device_id, command_id=command_id))

    def queue(self, device_id: str = DEVICE, **params: Any):
        return self.client.list_async_commands(
            ListAsyncCommandsRequest(device_id=device_id, **params))

    def history(self, device_id: str = DEVICE, **params: Any):
        return self.client.list_async_history_commands(
            ListAsyncHistoryCommandsRequest(device_id=device_id, **params))

    def status(self, command_id: str) -> str:
        return self.emu.command("iotda", command_id)["status"]

    def statuses(self, command_id: str) -> list[str]:
        return [h["status"] for h in self.emu.command("iotda", command_id)["history"]]


def refused(call: Any) -> ServiceResponseException:
    """The SDK's exception for a call that must fail."""
    try:
        call()
    except ServiceResponseException as e:
        return e
    raise AssertionError("the call succeeded")

"""A small Python client of the emulator's control API (`/_emulator/...`), for tests and demos."""

from __future__ import annotations

from typing import Any

import requests

#: (connect, read) timeout of a control call; flush adds its own wait.
TIMEOUT_S = (2.0, 30.0)


class EmulatorError(Exception):
    """Raised when a control call answers with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"emulator answered {status}: {body}")
        self.status, self.body = status, body


class EmulatorClient:
    """Drives one emulator: devices, clock, faults, and reads its ground truth."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.http.trust_env = False

    def _call(self, method: str, path: str, json: Any = None, params: Any = None,
              timeout: tuple[float, float] = TIMEOUT_S) -> Any:
        response = self.http.request(method, f"{self.base_url}/_emulator{path}", json=json,
                                     params=params, timeout=timeout)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, body)
        return body

    # -- state -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")

    def now_ms(self) -> int:
        return self.status()["now_ms"]

    def reset(self, seed: int | None = None, start_ms: int | None = None,
              speed: float | None = None, faults: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start over: no devices, commands, calls or deliveries; start-up settings again."""
        body = {"seed": seed, "start_ms": start_ms, "speed": speed, "faults": faults}
        return self._call("POST", "/reset", {k: v for k, v in body.items() if v is not None})

    # -- devices -----------------------------------------------------------------------------
    def add_device(self, platform: str, device_id: str | None = None,
                   **behaviour: Any) -> dict[str, Any]:
        """Add a device; behaviour: wake_period_s, jitter_s, awake_s, first_wake_s, failure_p,
        no_answer_p, ack_delay_s, result_delay_s, failure_code, notify_on_wake, ds_id, value."""
        body = {"platform": platform, **behaviour}
        if device_id is not None:
            body["device_id"] = device_id
        return self._call("POST", "/devices", body)

    def device(self, platform: str, device_id: str) -> dict[str, Any]:
        return self._call("GET", f"/devices/{platform}/{device_id}")

    def devices(self) -> list[dict[str, Any]]:
        return self._call("GET", "/devices")["devices"]

    def update_device(self, platform: str, device_id: str, **behaviour: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/devices/{platform}/{device_id}", behaviour)

    def wake(self, platform: str, device_id: str, uplink: str | None = None) -> dict[str, Any]:
        """Wake the device now (if asleep) and send an uplink: register/update/notify."""
        body = {"uplink": uplink} if uplink else {}
        return self._call("POST", f"/devices/{platform}/{device_id}/wake", body)

    def sleep(self, platform: str, device_id: str) -> dict[str, Any]:
        return self._call("POST", f"/devices/{platform}/{device_id}/sleep")

    # -- clock and faults --------------------------------------------------------------------
    def advance(self, seconds: float) -> int:
        """Move the clock; every event due by then has run when this returns. New now (ms)."""
        return self._call("POST", "/clock/advance", {"seconds": seconds})["now_ms"]

    def set_speed(self, speed: float) -> dict[str, Any]:
        return self._call("POST", "/clock/speed", {"speed": speed})

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/faults")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change faults and limits (see emulator/faults.py); returns them all."""
        return self._call("PUT", "/faults", faults)

    def expire_huawei_token(self) -> bool:
        return self._call("POST", "/huawei/token/expire")["expired"]

    def set_onenet_push(self, url: str, token: str, aes_key: str | None = None,
                        block: int = 16, verify: bool = True) -> dict[str, Any]:
        """Configure the OneNET push; with verify, the URL must pass the GET handshake first."""
        return self._call("PUT", "/onenet/push", {"url": url, "token": token,
                                                  "aes_key": aes_key, "block": block,
                                                  "verify": verify})

    def clear_onenet_push(self) -> None:
        self._call("DELETE", "/onenet/push")

    def set_iotda_push(self, url: str, **figures: float) -> dict[str, Any]:
        """Point IoTDA's rule engine at `url`; figures: timeout_s, blocklist_after, retry_s,
        backlog_ttl_s. Starts with no blocklist and no backlog."""
        return self._call("PUT", "/iotda/push", {"url": url, **figures})

    def iotda_push(self) -> dict[str, Any]:
        """The target and each host's standing: blocked, consecutive failures, backlog."""
        return self._call("GET", "/iotda/push")

    def clear_iotda_push(self) -> None:
        self._call("DELETE", "/iotda/push")

    # -- ground truth ------------------------------------------------------------------------
    def truth(self, platform: str | None = None,
              device_id: str | None = None) -> list[dict[str, Any]]:
        params = {"platform": platform, "device_id": device_id}
        return self._call("GET", "/truth", params=params)["commands"]

    def command(self, platform: str, command_id: str) -> dict[str, Any]:
        return self._call("GET", f"/truth/{platform}/{command_id}")

    def calls(self, platform: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", "/calls", params={"platform": platform, "since": since})["calls"]

    def deliveries(self, channel: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        params = {"channel": channel, "since": since}
        return self._call("GET", "/deliveries", params=params)["deliveries"]

    def flush(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """Wait until no callback/push is ready or in flight (delayed and retrying ones wait
        for the clock); EmulatorError 504 if the deadline passes first."""
        return self._call("POST", "/deliveries/flush", {"timeout_s": timeout_s},
                          timeout=(2.0, timeout_s + 10))

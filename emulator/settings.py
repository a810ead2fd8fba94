"""Emulator settings: defaults, the environment (`EMULATOR_*`, read here and nowhere else).

Where a platform spec says UNCONFIRMED, the documented suggestion is the default and a setting
here picks the alternative. Run-time faults and limits live in `faults.Faults`; their start
values come from `EMULATOR_FAULTS` (JSON) and a few dedicated variables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from emulator.faults import Faults, FaultsError

#: IoTDA v5 command statuses (no CANCELED: v5 has no cancel).
IOTDA_STATUSES = ("PENDING", "SENT", "DELIVERED", "SUCCESSFUL", "FAILED", "TIMEOUT", "EXPIRED")

#: Default port: Huawei's northbound API port, easy to remember.
DEFAULT_PORT = 8743


class SettingsError(ValueError):
    """Raised at start-up when a setting is malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    seed: int | None = None  #: None: a random seed, shown in /_emulator/status
    speed: float = 1.0  #: emulated seconds per real second; 0 = only manual advances
    start_ms: int | None = None  #: emulated start time; None: the real time at start
    threads: int = 16
    access_log: bool = False
    #: Set: the state is saved there on exit and resumed at start (emulator/snapshot.py).
    state_file: str | None = None
    # Huawei
    huawei_app_id: str = "demo-app"
    huawei_secret: str = "demo-secret"
    huawei_pending_status: str = "PENDING"  #: or "DEFAULT" (older docs); both mean "cached"
    huawei_task_waiting: str = "WAITTING"  #: (sic, Huawei's spelling) or "WAITING"
    huawei_query_order: str = "desc"  #: query commands: newest first, or "asc"
    huawei_notify_expired_canceled: bool = False  #: callbacks on EXPIRED and CANCELED too
    huawei_timeout_min_s: float = 80.0  #: SENT without ACK becomes TIMEOUT after 80-120 s
    huawei_timeout_max_s: float = 120.0
    huawei_pending_limit: int = 20
    huawei_refresh_ttl_s: int = 30 * 86400
    huawei_task_run_s: float = 3.0  #: a cancel task finishes this long after its creation
    # OneNET
    onenet_api_key: str = "demo-onenet-key"  #: the master APIKey
    onenet_push_url: str | None = None
    onenet_push_token: str = "demo-push-token"
    onenet_aes_key: str | None = None  #: EncodingAESKey (43 chars): pushes are encrypted
    onenet_aes_block: int = 16  #: PKCS#7 block of the AES padding: 16 or 32
    onenet_auth_errno: int = 3  #: errno for a wrong api-key (generic table 3; NB table 1)
    onenet_limit_errno: int = 5006  #: errno for range and limit violations
    onenet_timeout_send_status: int = 6  #: send_status once retries run out (6; 2018 doc: 7)
    onenet_push_on: tuple[int, ...] = (5, 6)  #: send_status values that push a type 7
    onenet_cached_limit: int = 10
    # IoTDA v5 (docs/platforms.md, "IoTDA"). No key: any request is accepted, signed or not.
    iotda_ak: str | None = None  #: with iotda_sk: every call must be signed with this key pair
    iotda_sk: str | None = None
    iotda_project_id: str | None = None  #: set: the path's project_id must be this one
    iotda_region: str | None = None  #: set: a derived (V11) signature must name this region
    iotda_auth_tokens: tuple[str, ...] = ()  #: IAM tokens accepted in X-Auth-Token
    iotda_instance_id: str | None = None  #: set: every call must carry it in Instance-Id
    iotda_sign_skew_s: int = 900  #: X-Sdk-Date may differ this much from the real clock
    iotda_app_id: str = "demo-iotda-app"  #: the app and product named in the pushes
    iotda_product_id: str = "demo-product"
    iotda_pending_limit: int = 20
    iotda_pending_limit_code: str = "IOTDA.014108"  #: not found in public material
    iotda_timeout_min_s: float = 80.0  #: SENT without ACK becomes TIMEOUT after 80-120 s
    iotda_timeout_max_s: float = 120.0
    iotda_delivered_queue_s: float = 86400.0  #: DELIVERED moves from queue to history after
    iotda_immediate_offline: str = "FAILED"  #: `immediately` to a sleeping device, or TIMEOUT
    iotda_push_url: str | None = None  #: the rule engine's HTTP forwarding target
    iotda_push_on: tuple[str, ...] = ("SENT", "DELIVERED", "SUCCESSFUL", "FAILED", "TIMEOUT",
                                      "EXPIRED")
    iotda_push_timeout_s: float = 15.0  #: no 200 within this: the push is discarded
    iotda_push_blocklist_after: int = 10  #: consecutive failures that blocklist the host
    iotda_push_retry_s: float = 180.0  #: a blocklisted host is tried again this often
    iotda_backlog_ttl_s: float = 86400.0  #: piled-up pushes older than this are dropped
    faults: Faults = field(default_factory=Faults)
    devices: tuple[dict[str, Any], ...] = ()  #: devices added at start (and after each reset)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def parse_start(text: str) -> int:
    """Epoch milliseconds, or an ISO 8601 time (UTC if it has no zone)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _words(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _devices(text: str) -> tuple[dict[str, Any], ...]:
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
        raise ValueError("expected a JSON list of device objects")
    return tuple(value)


def _parser(name: str, type_name: str) -> Callable[[str], Any]:
    special: dict[str, Callable[[str], Any]] = {
        "start_ms": parse_start, "onenet_push_on": _ints, "devices": _devices,
        "iotda_push_on": _words, "iotda_auth_tokens": _words,
    }
    if name in special:
        return special[name]
    if "bool" in type_name:
        return _bool
    if "int" in type_name:
        return int
    if "float" in type_name:
        return float
    return str


#: Dedicated variables for the start values of some faults.
FAULT_VARIABLES = {
    "EMULATOR_TOKEN_TTL_S": "token_ttl_s",
    "EMULATOR_HUAWEI_RATE_LIMIT": "huawei_rate_limit",
    "EMULATOR_ONENET_RATE_LIMIT": "onenet_rate_limit",
    "EMULATOR_IOTDA_RATE_LIMIT": "iotda_rate_limit",
}


def env_name(field_name: str) -> str:
    return "EMULATOR_" + field_name.upper()


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `EMULATOR_<FIELD>` variables (e.g. EMULATOR_PORT, EMULATOR_HUAWEI_SECRET)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Settings):
        name = env_name(f.name)
        if f.name == "faults" or name not in env:
            continue
        try:
            values[f.name] = _parser(f.name, str(f.type))(env[name])
        except ValueError as e:
            raise SettingsError(f"{name}={env[name]!r}: {e}") from None
    faults = Faults()
    if env.get("EMULATOR_FAULTS"):
        faults = parse_faults(env["EMULATOR_FAULTS"], faults, "EMULATOR_FAULTS")
    for name, fault in FAULT_VARIABLES.items():
        if name in env:
            try:
                faults = faults.updated({fault: env[name]})
            except FaultsError as e:
                raise SettingsError(f"{name}: {e}") from None
    return check(Settings(**values, faults=faults))


def parse_faults(text: str, base: Faults, where: str) -> Faults:
    try:
        changes = json.loads(text)
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object")
        return base.updated(changes)
    except (ValueError, FaultsError) as e:
        raise SettingsError(f"{where}: {e}") from None


def check(settings: Settings) -> Settings:
    """Settings that make sense together; SettingsError names the variable otherwise."""
    problems = {
        "speed": settings.speed < 0,
        "huawei_pending_status": settings.huawei_pending_status not in ("PENDING", "DEFAULT"),
        "huawei_task_waiting": settings.huawei_task_waiting not in ("WAITTING", "WAITING"),
        "huawei_query_order": settings.huawei_query_order not in ("asc", "desc"),
        "huawei_timeout_max_s": settings.huawei_timeout_max_s < settings.huawei_timeout_min_s,
        "onenet_aes_block": settings.onenet_aes_block not in (16, 32),
        "onenet_auth_errno": settings.onenet_auth_errno not in (1, 3),
        "onenet_timeout_send_status": settings.onenet_timeout_send_status not in (6, 7),
        "port": not 0 <= settings.port < 65536,
        "iotda_sk": bool(settings.iotda_ak) != bool(settings.iotda_sk),
        "iotda_timeout_max_s": settings.iotda_timeout_max_s < settings.iotda_timeout_min_s,
        "iotda_immediate_offline": settings.iotda_immediate_offline not in ("FAILED", "TIMEOUT"),
        "iotda_push_on": not set(settings.iotda_push_on) <= set(IOTDA_STATUSES),
        "iotda_push_blocklist_after": settings.iotda_push_blocklist_after < 1,
    }
    for name, bad in problems.items():
        if bad:
            value = getattr(settings, name)
            raise SettingsError(f"{env_name(name)}={value!r} is not allowed")
    return settings

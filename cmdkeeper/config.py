"""Configuration: the one place that reads the environment.

Every process builds a `Config` with `Config.from_env()` (or gets one passed in by a test) and
hands it down; nothing else in the code base looks at `os.environ`. Secrets are held here but are
never part of `repr()`, so a logged config cannot leak them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

#: Largest webhook or API request body accepted, in bytes (over 64 KiB is a 413).
MAX_BODY_BYTES = 64 * 1024

#: Names of the settings that are secrets: never logged, never echoed in an error.
SECRET_FIELDS = frozenset(
    {"api_token", "webhook_token", "huawei_secret", "onenet_api_key", "onenet_push_token",
     "onenet_aes_key", "metrics_token", "notify_secret", "iotda_sk", "iotda_webhook_token"}
)


#: What LOG_FORMAT may say: one JSON object per line (the default, for log shippers), or text.
LOG_FORMATS = ("json", "text")
#: URL schemes of BROKER_URL: RabbitMQ. Unset, the jobs go through Redis (REDIS_URL).
BROKER_SCHEMES = ("amqp", "amqps")


class ConfigError(Exception):
    """Raised at start-up when a variable is missing or malformed; names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _broker_url(env: Mapping[str, str]) -> str | None:
    url = env.get("BROKER_URL", "").strip()
    if not url:
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme not in BROKER_SCHEMES:
        # the URL itself may hold a password: name only its scheme
        raise ConfigError(f"BROKER_URL must be an amqp:// or amqps:// URL (RabbitMQ), or unset "
                          f"for the Redis broker; got scheme {scheme or 'none'!r}")
    return url


def _password(url: str | None) -> str:
    try:
        return (urlsplit(url).password or "") if url else ""
    except ValueError:
        return ""


#: What a Standard Webhooks secret looks like: `whsec_` and base64 of at least 24 bytes.
WHSEC = re.compile(r"whsec_[A-Za-z0-9+/]{32,}={0,2}")


def _notify_secret(env: Mapping[str, str]) -> str:
    url, secret = env.get("NOTIFY_URL", "").strip(), env.get("NOTIFY_SECRET", "").strip()
    if url and not secret:
        raise ConfigError("NOTIFY_URL is set but NOTIFY_SECRET is not: set it to a secret of "
                          "the form whsec_<base64> (the receiver verifies with it)")
    if secret and not WHSEC.fullmatch(secret):
        # never echo the value: it is a secret
        raise ConfigError("NOTIFY_SECRET must be whsec_ followed by base64 of at least 24 bytes")
    return secret


#: IoTDA keeps at most 20 PENDING commands per device: the hold-back queue hands it fewer.
IOTDA_PENDING_CAP = 20


def _in_flight(env: Mapping[str, str]) -> int:
    value = _int(env, "IOTDA_IN_FLIGHT_PER_DEVICE", 1, minimum=1)
    if value > IOTDA_PENDING_CAP:
        raise ConfigError(f"IOTDA_IN_FLIGHT_PER_DEVICE must be at most {IOTDA_PENDING_CAP} "
                          f"(IoTDA's limit of PENDING commands per device), got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 0 or 1, got {raw!r}")


@dataclass(frozen=True)
class Config:
    """All settings of a cmdkeeper process. Units are in the names."""

    redis_url: str | None = None
    #: REDIS_INSECURE_TLS=1: a `rediss://` Redis with a self-signed certificate (Heroku Redis)
    #: is used without checking its certificate (the link is still encrypted).
    redis_insecure_tls: bool = False
    port: int = 5000
    public_url: str = "http://localhost:5000"
    api_token: str = field(default="", repr=False)
    webhook_token: str = field(default="", repr=False)
    huawei_base_url: str = ""
    huawei_app_id: str = ""
    huawei_secret: str = field(default="", repr=False)
    onenet_base_url: str = ""
    onenet_api_key: str = field(default="", repr=False)
    onenet_push_token: str = field(default="", repr=False)
    onenet_aes_key: str = field(default="", repr=False)
    #: Huawei IoTDA v5: the application-side endpoint (`https://<...>.myhuaweicloud.com`), the
    #: project, an AK/SK pair, and the instance (`Instance-Id`, required on standard and
    #: enterprise editions).
    iotda_endpoint: str = ""
    iotda_project_id: str = ""
    iotda_ak: str = ""
    iotda_sk: str = field(default="", repr=False)
    iotda_instance_id: str = ""
    #: IoTDA limits API calls per second (enterprise edition: 200/s), not per minute.
    iotda_rate_per_s: int = 50
    #: The path token of the rule-engine push (`/webhooks/iotda/<token>`), as for Huawei;
    #: unset, CMDKEEPER_WEBHOOK_TOKEN serves (see `iotda_push_token`).
    iotda_webhook_token: str = field(default="", repr=False)
    #: How many of a device's commands cmdkeeper hands IoTDA at a time (it holds the rest back).
    iotda_in_flight_per_device: int = 1
    stale_after_s: int = 3600
    supersede: bool = False
    reconcile_after_s: int = 900
    sweep_interval_s: int = 60
    huawei_rate_per_min: int = 100
    onenet_rate_per_min: int = 100
    #: The platforms' rate-limit window; only an emulator run with a shorter window changes it.
    platform_rate_window_s: int = 60
    #: How long an identical callback counts as a platform re-push and is dropped at the door.
    dedupe_ttl_s: int = 900
    #: Where the embedded Redis keeps its data when REDIS_URL is unset.
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    #: LOG_FORMAT: `json` (one object per line: time, level, logger, message, role, request_id,
    #: exc_info) or `text` (one plain line per record). Secrets are scrubbed in both.
    log_format: str = "json"
    #: BROKER_URL: unset, jobs go through Redis (REDIS_URL) as the rest of the state; an
    #: amqp:// URL sends them through RabbitMQ instead (Redis stays the store). Its password is
    #: a secret.
    broker_url: str | None = field(default=None, repr=False)
    #: METRICS_TOKEN: when set, `GET /metrics` wants `Authorization: Bearer <it>` (a token of
    #: its own, so a scraper never holds the API token); unset, `/metrics` is open.
    metrics_token: str = field(default="", repr=False)
    #: METRICS_FLUSH_S: how often each process adds its counted metrics to Redis; a process
    #: killed with SIGKILL loses at most this much of its counting.
    metrics_flush_s: int = 5
    #: EVENTS_RETAIN_S: how long the change feed keeps an event (7 days).
    events_retain_s: int = 604_800
    #: EVENTS_MAX_WAIT_S: the longest a long poll of the feed holds a web thread, whatever
    #: `wait_s` asks (at most 30).
    events_max_wait_s: int = 30
    #: RETAIN_FINAL_S: a final command is removed this long after it became final (30 days).
    retain_final_s: int = 2_592_000
    #: NOTIFY_URL (+ NOTIFY_SECRET, `whsec_...`): one subscription defined by the environment.
    notify_url: str = ""
    notify_secret: str = field(default="", repr=False)
    #: NOTIFY_RETRY_FOR_S: how long a subscriber that keeps failing is retried before its
    #: subscription is disabled (24 h).
    notify_retry_for_s: int = 86_400
    #: NOTIFY_ALLOW_INSECURE=1: subscribers may be plain http and loopback/private addresses
    #: (dev, tests, the demo); otherwise only https to public addresses.
    notify_allow_insecure: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 defaults: Mapping[str, str] | None = None) -> Config:
        """Settings from `env` (the process's environment by default); `defaults` fill in the
        variables it does not set (the CLI takes the running demo's: dev/demo.py)."""
        env = os.environ if env is None else env
        if defaults:
            env = {**defaults, **{k: v for k, v in env.items() if v != ""}}
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            redis_insecure_tls=_flag(env, "REDIS_INSECURE_TLS"),
            port=_int(env, "PORT", 5000, minimum=1),
            public_url=env.get("PUBLIC_URL", "http://localhost:5000").rstrip("/"),
            api_token=env.get("CMDKEEPER_API_TOKEN", ""),
            webhook_token=env.get("CMDKEEPER_WEBHOOK_TOKEN", ""),
            huawei_base_url=env.get("HUAWEI_BASE_URL", "").rstrip("/"),
            huawei_app_id=env.get("HUAWEI_APP_ID", ""),
            huawei_secret=env.get("HUAWEI_SECRET", ""),
            onenet_base_url=env.get("ONENET_BASE_URL", "").rstrip("/"),
            onenet_api_key=env.get("ONENET_API_KEY", ""),
            onenet_push_token=env.get("ONENET_PUSH_TOKEN", ""),
            onenet_aes_key=env.get("ONENET_AES_KEY", ""),
            iotda_endpoint=env.get("IOTDA_ENDPOINT", "").rstrip("/"),
            iotda_project_id=env.get("IOTDA_PROJECT_ID", ""),
            iotda_ak=env.get("IOTDA_AK", ""),
            iotda_sk=env.get("IOTDA_SK", ""),
            iotda_instance_id=env.get("IOTDA_INSTANCE_ID", ""),
            iotda_rate_per_s=_int(env, "IOTDA_RATE_PER_S", 50, minimum=1),
            iotda_webhook_token=env.get("IOTDA_WEBHOOK_TOKEN", ""),
            iotda_in_flight_per_device=_in_flight(env),
            stale_after_s=_int(env, "STALE_AFTER_S", 3600, minimum=1),
            supersede=_flag(env, "SUPERSEDE"),
            reconcile_after_s=_int(env, "RECONCILE_AFTER_S", 900, minimum=1),
            sweep_interval_s=_int(env, "SWEEP_INTERVAL_S", 60, minimum=1),
            huawei_rate_per_min=_int(env, "HUAWEI_RATE_PER_MIN", 100, minimum=1),
            onenet_rate_per_min=_int(env, "ONENET_RATE_PER_MIN", 100, minimum=1),
            platform_rate_window_s=_int(env, "PLATFORM_RATE_WINDOW_S", 60, minimum=1),
            dedupe_ttl_s=_int(env, "DEDUPE_TTL_S", 900, minimum=1),
            var_dir=Path(env.get("CMDKEEPER_VAR_DIR", "var")),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_format=_choice(env, "LOG_FORMAT", "json", LOG_FORMATS),
            broker_url=_broker_url(env),
            metrics_token=env.get("METRICS_TOKEN", ""),
            metrics_flush_s=_int(env, "METRICS_FLUSH_S", 5, minimum=1),
            events_retain_s=_int(env, "EVENTS_RETAIN_S", 604_800, minimum=1),
            events_max_wait_s=min(30, _int(env, "EVENTS_MAX_WAIT_S", 30)),
            retain_final_s=_int(env, "RETAIN_FINAL_S", 2_592_000, minimum=1),
            notify_url=env.get("NOTIFY_URL", "").strip(),
            notify_secret=_notify_secret(env),
            notify_retry_for_s=_int(env, "NOTIFY_RETRY_FOR_S", 86_400, minimum=1),
            notify_allow_insecure=_flag(env, "NOTIFY_ALLOW_INSECURE"),
        )

    @property
    def iotda_push_token(self) -> str:
        """The path token of `/webhooks/iotda/<token>`: IOTDA_WEBHOOK_TOKEN, else the Huawei
        callbacks' CMDKEEPER_WEBHOOK_TOKEN (one secret fewer to set; a token of its own keeps
        one leaked URL from opening the other)."""
        return self.iotda_webhook_token or self.webhook_token

    def with_(self, **changes: object) -> Config:
        """A copy with some settings changed (tests use this)."""
        return replace(self, **changes)

    def require(self, *names: str) -> None:
        """Fail fast, naming each missing variable, when a process needs settings that are unset."""
        env_names = {f.name: _ENV_NAMES.get(f.name, f.name.upper()) for f in fields(self)}
        missing = [env_names[n] for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError("required environment variable(s) not set: " + ", ".join(missing))

    def secrets(self) -> list[str]:
        """The configured secret values, for scrubbing logs and tests that search for leaks."""
        values = [v for n in sorted(SECRET_FIELDS) if (v := getattr(self, n))]
        return values + [p for url in (self.broker_url, self.redis_url) if (p := _password(url))]


_ENV_NAMES = {
    "api_token": "CMDKEEPER_API_TOKEN",
    "webhook_token": "CMDKEEPER_WEBHOOK_TOKEN",
    "var_dir": "CMDKEEPER_VAR_DIR",
}

"""What the CLI's commands share, built on first use from the environment.

The configuration is `Config.from_env()`, as in every process. Redis is REDIS_URL, or else the
embedded Redis the dev runner (`bin/run`) started under CMDKEEPER_VAR_DIR: the CLI attaches to
it when it runs and never starts one itself (a daemon left behind by a one-off command would
surprise). While `bin/run` runs, the demo settings it filled in (the emulator's URLs and
credentials, ...) are in `<CMDKEEPER_VAR_DIR>/demo.env` (dev/demo.py): the CLI takes them, where
its environment sets nothing, when it talks to that same Redis, so its revokes and reconciles
reach the demo's emulator. Platform gateways take their call slots from the shared budget like
any process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import redis
from dramatiq import Broker

from cli.errors import EXIT_CONFIG, EXIT_REDIS, CliError, describe_url
from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import Config, ConfigError
from dev import demo
from platforms.factory import BUILDERS
from platforms.gateway import Gateway
from store import actions, connection
from store.commands import CommandStore
from store.metrics_flush import flush_now
from workers.runtime import command_store

#: The variables each platform needs, for the message when one is not configured.
PLATFORM_VARIABLES = {
    "huawei": "HUAWEI_BASE_URL, HUAWEI_APP_ID and HUAWEI_SECRET",
    "onenet": "ONENET_BASE_URL and ONENET_API_KEY",
    "iotda": "IOTDA_ENDPOINT, IOTDA_PROJECT_ID, IOTDA_AK and IOTDA_SK",
}
#: The setting whose presence says a platform is configured at all.
_BASE_SETTING = {"huawei": "huawei_base_url", "onenet": "onenet_base_url",
                 "iotda": "iotda_endpoint"}


@dataclass
class Session:
    """The CLI's dependencies; tests may pass their own clock, sleep or environment."""

    clock: Clock = system_clock
    sleep: Callable[[float], None] = time.sleep
    env: Mapping[str, str] | None = None
    #: Only the `python -m cmdkeeper` entry point sets up logging (not a test's runner).
    configure_logging: bool = False
    #: Whether the settings include the running demo's (bin/run's var/demo.env).
    uses_demo: bool = False
    _config: Config | None = field(default=None, repr=False)
    _url: str | None = field(default=None, repr=False)
    _client: redis.Redis | None = field(default=None, repr=False)
    _store: CommandStore | None = field(default=None, repr=False)
    _gateways: dict[str, Gateway] = field(default_factory=dict, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                config = Config.from_env(self.env)
                found = demo.read(config.var_dir)
                own_url = config.redis_url or connection.embedded_url(config.var_dir)
                if found is not None and found[0] == own_url:
                    config = Config.from_env(self.env, defaults=found[1])
                    self.uses_demo = True
                self._config = config
            except ConfigError as e:
                raise CliError(str(e), EXIT_CONFIG) from None
        return self._config

    @property
    def redis_url(self) -> str:
        if self._url is None:
            config = self.config
            if hint := connection.unreachable_hint(config):
                raise CliError(f"Redis unreachable: {hint}", EXIT_REDIS)
            self._url = config.redis_url or connection.embedded_url(config.var_dir)
        return self._url

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            url = self.redis_url
            client = connection.client(url)
            try:
                client.ping()
            except redis.RedisError as e:
                raise CliError(f"Redis unreachable at {describe_url(url)}: {e}",
                               EXIT_REDIS) from None
            self._client = client
        return self._client

    @property
    def store(self) -> CommandStore:
        if self._store is None:
            self._store = command_store(self.client, self.config)
        return self._store

    def gateway(self, platform: str) -> Gateway:
        """The platform's gateway; a one-line error naming the variables when unconfigured."""
        if platform not in self._gateways:
            base_url = getattr(self.config, _BASE_SETTING[platform])
            if not base_url:
                raise CliError(f"{platform} is not configured: set "
                               f"{PLATFORM_VARIABLES[platform]} (against the demo, run the CLI "
                               "from the directory bin/run runs in)", EXIT_CONFIG)
            try:
                self._gateways[platform] = BUILDERS[platform](self.config, self.client,
                                                              self.clock)
            except ConfigError as e:
                raise CliError(f"{platform} is not fully configured: {e}", EXIT_CONFIG) from None
        return self._gateways[platform]

    def broker(self) -> Broker:
        """The workers' broker on this Redis, with cmdkeeper's actors declared on it."""
        from workers import broker

        configured = broker.configure(self.config.with_(redis_url=self.redis_url))
        import workers.actors  # noqa: F401  (declares the actors on the configured broker)

        return configured

    def now(self) -> int:
        return self.clock()

    def note(self, platform: str, device_id: str, action: str, detail: str = "") -> None:
        """Note on the device that the CLI asked for this (the dashboard's timelines show it)."""
        actions.note(self.client, platform, device_id, actions.Asked(self.now(), "cli", action,
                                                                     detail))

    def flush_metrics(self) -> None:
        """Add what this command counted (its revocations...) to the fleet's metrics."""
        if self._client is not None:
            flush_now(self._client)

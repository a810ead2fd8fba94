"""What a worker process needs at run time, built once per process from the environment.

Actors fetch their dependencies here and hand them to plain functions as arguments; tests call
those functions directly with their own store, gateway and clock instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import redis

from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import Config, ConfigError
from cmdkeeper.metric_names import count_applied
from notify import urls
from notify.client import Sender
from platforms.errors import PermanentError
from platforms.factory import build_gateways
from platforms.gateway import Gateway
from store import connection
from store.commands import CommandStore
from store.subscriptions import SubscriptionStore
from workers.notify import Deliverer


@dataclass(frozen=True)
class Runtime:
    config: Config
    store: CommandStore
    clock: Clock
    gateways: dict[str, Gateway]
    deliverer: Deliverer

    def gateway(self, platform: str) -> Gateway:
        try:
            return self.gateways[platform]
        except KeyError:
            raise PermanentError(platform, "not_configured",
                                 f"{platform} is not configured in this process") from None


def command_store(client: redis.Redis, config: Config) -> CommandStore:
    """The command store of a process: every event it applies is counted in the metrics."""
    return CommandStore(client, reconcile_after_s=config.reconcile_after_s,
                        on_applied=count_applied)


def deliverer(client: redis.Redis, config: Config, clock: Clock) -> Deliverer:
    """What delivers the change feed to the subscribers (workers/notify.py)."""
    return Deliverer(SubscriptionStore(client), Sender(allow_insecure=config.notify_allow_insecure),
                     clock, retry_for_s=config.notify_retry_for_s,
                     events_retain_s=config.events_retain_s)


def define_env_subscription(client: redis.Redis, config: Config, clock: Clock) -> None:
    """NOTIFY_URL (+ NOTIFY_SECRET) defines one subscription, so a Heroku app needs no API call
    (web and worker both do it at start-up; doing it twice changes nothing)."""
    if config.notify_url:
        try:
            urls.check(config.notify_url, allow_insecure=config.notify_allow_insecure)
        except urls.RefusedUrl as e:
            raise ConfigError(f"NOTIFY_URL: {e}") from None
        SubscriptionStore(client).define_from_env(config.notify_url, config.notify_secret,
                                                  clock())


def build(config: Config, clock: Clock = system_clock) -> Runtime:
    client = connection.client(connection.resolve_url(config))
    define_env_subscription(client, config, clock)
    return Runtime(
        config=config,
        store=command_store(client, config),
        clock=clock,
        gateways=build_gateways(config, client, clock),
        deliverer=deliverer(client, config, clock),
    )


@cache
def current() -> Runtime:
    return build(Config.from_env())

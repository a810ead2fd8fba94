"""What a worker process needs at run time, built once per process from the environment.

Actors fetch their dependencies here and hand them to plain functions as arguments; tests call
those functions directly with their own store, gateway and clock instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import redis

from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import Config
from cmdkeeper.metric_names import count_applied
from platforms.errors import PermanentError
from platforms.factory import build_gateways
from platforms.gateway import Gateway
from store import connection
from store.commands import CommandStore


@dataclass(frozen=True)
class Runtime:
    config: Config
    store: CommandStore
    clock: Clock
    gateways: dict[str, Gateway]

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


def build(config: Config, clock: Clock = system_clock) -> Runtime:
    client = connection.client(connection.resolve_url(config))
    return Runtime(
        config=config,
        store=command_store(client, config),
        clock=clock,
        gateways=build_gateways(config, client, clock),
    )


@cache
def current() -> Runtime:
    return build(Config.from_env())

"""What a worker process needs at run time, built once per process from the environment.

Actors fetch their dependencies here and hand them to plain functions as arguments; tests call
those functions directly with their own store, gateway and clock instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import Config
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


def build(config: Config, clock: Clock = system_clock) -> Runtime:
    client = connection.client(connection.resolve_url(config))
    return Runtime(
        config=config,
        store=CommandStore(client, reconcile_after_s=config.reconcile_after_s),
        clock=clock,
        gateways=build_gateways(config, client, clock),
    )


@cache
def current() -> Runtime:
    return build(Config.from_env())

"""The one global: the dramatiq broker, built from the config.

dramatiq binds an actor to the global broker when the actor is declared, and would otherwise
invent a default broker on localhost. Importing `workers.actors` before `configure()` binds the
actors to an in-memory placeholder that touches nothing (importing must not start or reach a
Redis); `configure()` re-binds every declared actor to the real broker, as it does when called
again with another config. Every process that sends or runs jobs configures first.
"""

from __future__ import annotations

import dramatiq
from dramatiq import Broker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from cmdkeeper.config import Config
from store.connection import resolve_url

#: dramatiq's key namespace in Redis (its default).
NAMESPACE = "dramatiq"
#: A worker silent this long is dead and its unacknowledged messages go back on the queue.
#: dramatiq's default is 60 s; live workers beat on every fetch (about once a second).
HEARTBEAT_TIMEOUT_MS = 15_000
#: Chance, per million Redis calls, that a call also requeues dead workers' messages.
#: dramatiq's default (1,000) can leave them waiting minutes on a quiet queue.
MAINTENANCE_CHANCE = 20_000

_broker: Broker | None = None
_url: str | None = None


def configure(config: Config) -> RedisBroker:
    """Build (or reuse) the broker for this config and make it dramatiq's global broker."""
    global _broker, _url
    url = resolve_url(config)
    if _broker is not None and url == _url:
        return _broker
    broker = RedisBroker(url=url, namespace=NAMESPACE, heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
                         maintenance_chance=MAINTENANCE_CHANCE)
    if _broker is not None:
        for name in _broker.get_declared_actors():
            actor = _broker.get_actor(name)
            actor.broker = broker
            broker.declare_actor(actor)
    dramatiq.set_broker(broker)
    _broker, _url = broker, url
    return broker


def current() -> Broker:
    """The configured broker, or the placeholder actors are declared on until `configure()`."""
    global _broker
    if _broker is None:
        _broker = StubBroker()
        dramatiq.set_broker(_broker)
    return _broker

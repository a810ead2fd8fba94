"""The one global: the dramatiq broker, built from the config.

dramatiq binds an actor to the global broker when the actor is declared, and would otherwise
invent a default broker on localhost. Importing `workers.actors` before `configure()` binds the
actors to an in-memory placeholder that touches nothing (importing must not start or reach a
Redis); `configure()` re-binds every declared actor to the real broker, as it does when called
again with another config. Every process that sends or runs jobs configures first.

The broker is Redis (the store's own, REDIS_URL) unless BROKER_URL names a RabbitMQ; Redis stays
the store either way. Every message carries the request id of the work that enqueued it
(`CarryRequestId`), and the job's log lines show it.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import dramatiq
import redis
from dramatiq import Broker, Message, Middleware
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import BrokerConnectionError, BrokerError, ConnectionClosed
from dramatiq.middleware import Retries, default_middleware
from redis.backoff import NoBackoff
from redis.retry import Retry

from cmdkeeper import request_ids
from cmdkeeper.config import BROKER_SCHEMES, Config, ConfigError
from store import keys
from store.connection import resolve_url

#: dramatiq's key namespace in Redis (its default; store/keys.py names it).
NAMESPACE = keys.DRAMATIQ_NAMESPACE
#: A worker silent this long is dead and its unacknowledged messages go back on the queue.
#: dramatiq's default is 60 s. A live worker beats on every Redis command its consumers send,
#: and an idle consumer polls ten times a second, so a few seconds of silence means it is gone;
#: a revocation it had fetched is this late (plus a moment for maintenance to run). A live
#: worker stalled longer only makes its jobs run twice, and every actor is idempotent.
HEARTBEAT_TIMEOUT_MS = 3_000
#: Chance, per million Redis calls, that a call also requeues dead workers' messages. A call
#: requeues only those of its own queue, and a queue's calls are mostly its consumers' polls,
#: about ten a second per worker: at dramatiq's default (1,000) a dead worker's revocations
#: waited minutes, at 2% about five seconds more; at 10%, about one. (Maintenance with no dead
#: worker reads two small sorted sets.)
MAINTENANCE_CHANCE = 100_000

#: While Redis is away, a failed message's retry is re-sent this often until Redis answers.
REDIS_AWAY_BACKOFF_S = (0.1, 2.0)

#: pika's timeouts unless BROKER_URL's query sets its own: a webhook must answer within the
#: platform's patience (OneNET waits 5 s), so a publish to a RabbitMQ that is away, or blocking
#: publishers (memory or disk alarm), fails in seconds and the webhook answers 503.
RABBITMQ_TIMEOUTS_S = {"socket_timeout": 2.0, "stack_timeout": 2.0,
                       "blocked_connection_timeout": 3.0}

#: The message option that carries the request id into the job.
REQUEST_ID_OPTION = "request_id"

log = logging.getLogger(__name__)

_broker: Broker | None = None
_url: str | None = None


class EnqueueFailed(Exception):
    """Raised when the broker did not take a message (RabbitMQ: no confirm); it was not queued."""


def configure(config: Config) -> Broker:
    """Build (or reuse) the broker for this config and make it dramatiq's global broker."""
    global _broker, _url
    url = config.broker_url or resolve_url(config)
    if _broker is not None and url == _url:
        return _broker
    if config.broker_url:
        if urlsplit(url).scheme.lower() not in BROKER_SCHEMES:
            raise ConfigError("BROKER_URL must be an amqp:// or amqps:// URL, or unset")
        broker = rabbitmq_broker(url)
    else:
        broker = RecoveringRedisBroker(url=url)
    if _broker is not None:
        for name in _broker.get_declared_actors():
            actor = _broker.get_actor(name)
            actor.broker = broker
            broker.declare_actor(actor)
    dramatiq.set_broker(broker)
    _broker, _url = broker, url
    return broker


def uses_rabbitmq() -> bool:
    """Whether jobs go through RabbitMQ (then the webhook publishes them itself)."""
    return isinstance(current(), RabbitmqBroker)


def current() -> Broker:
    """The configured broker, or the placeholder actors are declared on until `configure()`."""
    global _broker
    if _broker is None:
        _broker = StubBroker()
        dramatiq.set_broker(_broker)
    return _broker


class CarryRequestId(Middleware):
    """Carries the request id from what enqueues a message to the job that runs it.

    A message enqueued while a request id is current (a web request, a clock sweep, another
    job) gets it as an option, unless it has one (a retry keeps its own); the worker makes it
    current while the job runs, so the job's log lines and the jobs it enqueues carry it too.
    First in the middleware list: its `before_` hooks run first and its `after_` hooks last,
    so the lines other middleware log about the job have the id as well.
    """

    def before_enqueue(self, broker: Broker, message: Message, delay: int | None) -> None:
        if message.options.get(REQUEST_ID_OPTION) is None:
            request_id = request_ids.current()
            if request_id is not None:
                message.options[REQUEST_ID_OPTION] = request_id

    def before_process_message(self, broker: Broker, message: Message) -> None:
        request_ids.set_current(message.options.get(REQUEST_ID_OPTION))

    def after_process_message(self, broker: Broker, message: Message, *, result=None,
                              exception=None) -> None:
        request_ids.set_current(None)

    def after_skip_message(self, broker: Broker, message: Message) -> None:
        request_ids.set_current(None)


def _middleware() -> list[Middleware]:
    return [CarryRequestId(), *(PatientRetries() if cls is Retries else cls()
                                for cls in default_middleware)]


def rabbitmq_broker(url: str) -> RabbitmqBroker:
    """dramatiq's RabbitMQ broker with publisher confirms: `enqueue` returns once RabbitMQ has
    the message (persistent, on a durable queue), else raises."""
    broker = RabbitmqBroker(url=url, confirm_delivery=True, middleware=_middleware())
    given = parse_qs(urlsplit(url).query)
    parameters = broker.parameters if isinstance(broker.parameters, list) else [broker.parameters]
    for p in parameters:
        for name, seconds in RABBITMQ_TIMEOUTS_S.items():
            if name not in given:
                setattr(p, name, seconds)
    return broker


def enqueue_confirmed(message: Message) -> None:
    """Hand a message to the broker; EnqueueFailed when the broker did not confirm it."""
    try:
        current().enqueue(message)
    except BrokerError as e:
        raise EnqueueFailed(f"{type(e).__name__}: {e}") from e


class _RecoveringConsumer(_RedisConsumer):
    def __next__(self):
        try:
            return super().__next__()
        except ConnectionClosed:
            self.broker.abandon_unacknowledged()
            raise

    def close(self) -> None:
        # dramatiq requeues, at shutdown, the messages waiting for a thread but not the ones
        # still in this prefetch cache: they would wait for the worker's heartbeat to lapse.
        cached = [Message.decode(data) for data in self.message_cache if data is not None]
        self.message_cache = []
        if cached:
            try:
                self.requeue(cached)
            except redis.RedisError:
                pass  # Redis is away: they come back once this worker's heartbeat lapses
        super().close()


class RecoveringRedisBroker(RedisBroker):
    """dramatiq's Redis broker, made to lose nothing when Redis restarts under a live worker.

    dramatiq keeps the messages a worker fetched in a per-worker set in Redis until they are
    acknowledged, and puts them back on the queue only once that worker stops beating. A live
    worker can strand some there for good when its link to Redis breaks: a fetch whose reply
    was lost, delayed retries dropped with its in-memory delay queue, the prefetch cache. So after
    a broken link the worker takes a new identity: its old one stops beating and, a heartbeat
    timeout later, any worker's maintenance requeues everything it held. Messages still running
    then come back a second time; every actor is idempotent. The client does not retry on its
    own for the same reason: a silently retried fetch strands the first one's messages.
    """

    def __init__(self, *, url: str) -> None:
        client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(
            url, retry=Retry(NoBackoff(), 0)))
        super().__init__(client=client, middleware=_middleware(), namespace=NAMESPACE,
                         heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
                         maintenance_chance=MAINTENANCE_CHANCE)

    @property
    def consumer_class(self):
        return _RecoveringConsumer

    def abandon_unacknowledged(self) -> None:
        old, self.broker_id = self.broker_id, str(uuid4())
        log.warning("lost the link to Redis: messages fetched as worker %s go back on the queue "
                    "%d s after its last heartbeat", old, HEARTBEAT_TIMEOUT_MS // 1000)


class _EnqueueUntilRedisAnswers:
    """The broker, as `Retries` sees it: a retry that cannot be enqueued is tried again until
    the broker (Redis or RabbitMQ) answers, instead of being logged and acknowledged (lost)."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    def __getattr__(self, name: str):
        return getattr(self._broker, name)

    def enqueue(self, message, *, delay=None):
        wait_s, max_wait_s = REDIS_AWAY_BACKOFF_S
        while True:
            try:
                return self._broker.enqueue(message, delay=delay)
            except (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError):
                log.warning("broker unavailable: retry of message %s waits %.1f s",
                            message.message_id, wait_s)
                time.sleep(wait_s)
                wait_s = min(wait_s * 2, max_wait_s)


class PatientRetries(Retries):
    """dramatiq's `Retries`, holding a failed message until its retry is safely enqueued. If the
    worker is killed meanwhile, the message is still unacknowledged and comes back."""

    def after_process_message(self, broker, message, *, result=None, exception=None):
        super().after_process_message(_EnqueueUntilRedisAnswers(broker), message,
                                      result=result, exception=exception)

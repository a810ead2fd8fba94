"""Which broker a config selects, without a RabbitMQ: BROKER_URL unset is Redis, amqp:// is
RabbitMQ with publisher confirms and timeouts short enough for a webhook, anything else fails at
start-up naming the variable and not the password."""

from __future__ import annotations

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from cmdkeeper.config import Config, ConfigError
from workers import broker


@pytest.fixture
def restore_broker(config: Config):
    yield
    broker.configure(config)  # other tests expect the Redis broker of the test config


def test_unset_is_the_redis_broker_and_amqp_is_rabbitmq(config, restore_broker):
    assert isinstance(broker.configure(config), broker.RecoveringRedisBroker)
    assert not broker.uses_rabbitmq()
    rabbit = broker.configure(config.with_(broker_url="amqp://u:p4ss@127.0.0.1:5672/ck"))
    assert isinstance(rabbit, RabbitmqBroker) and broker.uses_rabbitmq()
    assert rabbit.confirm_delivery
    assert isinstance(rabbit.middleware[0], broker.CarryRequestId)
    assert any(isinstance(m, broker.PatientRetries) for m in rabbit.middleware)


def test_rabbitmq_timeouts_are_short_unless_the_url_sets_them():
    default = broker.rabbitmq_broker("amqp://u:p@127.0.0.1:5672/").parameters
    assert default.socket_timeout == broker.RABBITMQ_TIMEOUTS_S["socket_timeout"]
    assert default.blocked_connection_timeout == 3.0 and default.stack_timeout == 2.0
    chosen = broker.rabbitmq_broker("amqp://u:p@127.0.0.1:5672/?socket_timeout=9").parameters
    assert chosen.socket_timeout == 9 and chosen.stack_timeout == 2.0


@pytest.mark.parametrize("url", ["redis://:hunter22@h:6379/0", "http://u:hunter22@h/",
                                 "h:5672", "hunter22"])
def test_another_scheme_fails_at_start_up(url):
    with pytest.raises(ConfigError, match="BROKER_URL") as e:
        Config.from_env({"BROKER_URL": url})
    assert "hunter22" not in str(e.value)


def test_the_broker_password_is_a_secret():
    c = Config.from_env({"BROKER_URL": "amqps://ck:s3cret-pw@mq.example:5671/prod"})
    assert c.broker_url.startswith("amqps://") and "s3cret-pw" in c.secrets()
    assert "s3cret-pw" not in repr(c)

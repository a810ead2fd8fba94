"""Entry point of the `worker` process: `dramatiq workers.main`.

Configures the broker from the environment (Redis, or RabbitMQ when BROKER_URL is set), then
declares the actors on it. dramatiq imports this module in each of its worker processes. Their
log lines go to dramatiq's main process, which writes them out as they are; its own few lines
(booting, signals) keep dramatiq's text format.
"""

import logging
import signal
import time

from cmdkeeper.config import Config
from cmdkeeper.logs import setup_logging
from store import connection
from store.metrics_flush import start_flusher
from workers import broker

#: Heroku (and honcho) send SIGTERM to every process of a dyno, and dramatiq's main process
#: forwards its own SIGTERM to its workers: a worker sees two at once, and dramatiq takes the
#: second for "kill now". Within this many seconds, a repeat means the same stop.
SIGTERM_REPEAT_S = 5.0


def _one_stop_per_sigterm_burst() -> None:
    dramatiq_handler = signal.getsignal(signal.SIGTERM)
    if not callable(dramatiq_handler):
        return
    first = [0.0]

    def handler(signum, frame):
        now = time.monotonic()
        if first[0] and now - first[0] < SIGTERM_REPEAT_S:
            return
        first[0] = first[0] or now
        dramatiq_handler(signum, frame)

    signal.signal(signal.SIGTERM, handler)


_config = Config.from_env()
setup_logging(_config, role="worker")
if _hint := connection.unreachable_hint(_config):
    logging.getLogger("cmdkeeper").warning(_hint)
_one_stop_per_sigterm_burst()
broker.configure(_config)
start_flusher(connection.client(connection.resolve_url(_config)), _config.metrics_flush_s)

import workers.actors  # noqa: E402,F401  (declares the actors on the configured broker)

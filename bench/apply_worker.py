"""The worker of `bench.apply`: `dramatiq bench.apply_worker`.

Configured exactly like workers/main.py, then declares cmdkeeper's actors and the bench's no-op
actor on the same broker, so one worker process serves both queues in every measurement.
"""

from cmdkeeper.config import Config
from cmdkeeper.logs import setup_logging
from workers import broker

setup_logging()
broker.configure(Config.from_env())

import bench.noop  # noqa: E402,F401  (declares the no-op actor on the same broker)
import workers.actors  # noqa: E402,F401  (declares cmdkeeper's actors on the configured broker)

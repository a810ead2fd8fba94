"""gunicorn's own log lines (master and workers) in the format of the app's, secrets scrubbed.

gunicorn.conf.py names `GunicornLogger` as gunicorn's `logger_class`. gunicorn builds its logger
in the master before any app code runs, so without it "Booting worker", "WORKER TIMEOUT" and the
lines about requests it cannot parse would be plain text among the JSON ones.
"""

from __future__ import annotations

from gunicorn import glogging

from cmdkeeper.config import Config
from cmdkeeper.logs import SecretScrubber, formatter
from cmdkeeper.request_ids import RequestIdFilter

ROLE = "web"


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, writing through cmdkeeper's formatter (LOG_FORMAT) and scrubber."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        config = Config.from_env()
        scrubber = SecretScrubber(config.secrets())
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter(config, ROLE, scrubber))
                handler.filters[:] = [RequestIdFilter(), scrubber]

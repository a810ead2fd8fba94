"""Logging set-up shared by every process: one line per record, secrets scrubbed."""

from __future__ import annotations

import logging
import sys

from cmdkeeper.config import Config


class SecretScrubber(logging.Filter):
    """Replaces any configured secret that appears in a log message with `***`."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            scrubbed = message
            for secret in self.secrets:
                scrubbed = scrubbed.replace(secret, "***")
            if scrubbed != message:
                record.msg, record.args = scrubbed, None
        return True


#: Loggers with handlers of their own, which records never leave for the root handler: gunicorn
#: writes a request it cannot parse as it came (`Invalid HTTP request line: 'POST
#: /webhooks/huawei/<token>...'`), webhook token or bearer token included.
OWN_HANDLER_LOGGERS = ("gunicorn.error", "gunicorn.access")


def setup_logging(config: Config | None = None) -> None:
    config = config or Config.from_env()
    scrubber = SecretScrubber(config.secrets())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(scrubber)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level)
    for name in OWN_HANDLER_LOGGERS:
        logger = logging.getLogger(name)
        logger.filters[:] = [f for f in logger.filters if not isinstance(f, SecretScrubber)]
        logger.addFilter(scrubber)

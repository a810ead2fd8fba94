"""Logging set-up shared by every process: one line per record, secrets scrubbed.

LOG_FORMAT=json (the default) writes one JSON object per record, for log shippers:
`{"time", "level", "logger", "message", "role", "pid", "request_id"?, "exc_info"?, ...extra}`,
time in ISO 8601 UTC with milliseconds. LOG_FORMAT=text writes one plain line. Either way, every
configured secret is replaced by `***` in every field, exception text included.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from cmdkeeper.config import Config
from cmdkeeper.request_ids import RequestIdFilter

#: Shortest value scrubbed: shorter "secrets" would blank out ordinary words.
MIN_SECRET_CHARS = 4
MASK = "***"

#: Attributes every LogRecord has; anything else on a record came as `extra=` and is logged.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "rid", "taskName"}


class SecretScrubber(logging.Filter):
    """Replaces every configured secret with `***`: in a record's message, exception and stack
    text and `extra` fields (as a filter), and in any text given to `scrub`."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len,
                              reverse=True)  # longest first: one secret may contain another

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.scrub(value))
        return True


_FORMATTER = logging.Formatter()


class JsonFormatter(logging.Formatter):
    """One JSON object per record; each string field scrubbed before it is encoded (a secret
    escaped by JSON would no longer match it)."""

    def __init__(self, role: str | None, scrubber: SecretScrubber) -> None:
        super().__init__()
        self.role, self.scrubber = role, scrubber

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.role:
            fields["role"] = self.role
        fields["pid"] = record.process
        request_id = getattr(record, "request_id", None)
        if request_id:
            fields["request_id"] = request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields["exc_info"] = record.exc_text
        if record.stack_info:
            fields["stack_info"] = record.stack_info
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in fields:
                fields[name] = value
        return json.dumps(self._scrubbed(fields), ensure_ascii=False, default=str)

    def _scrubbed(self, value: object) -> object:
        if isinstance(value, str):
            return self.scrubber.scrub(value)
        if isinstance(value, dict):
            return {str(k): self._scrubbed(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrubbed(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.scrubber.scrub(str(value))


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message`, then any traceback; the whole text scrubbed."""

    def __init__(self, role: str | None, scrubber: SecretScrubber) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s")
        self.scrubber = scrubber

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.rid = f" [{request_id}]" if request_id else ""
        return self.scrubber.scrub(super().format(record))


def formatter(config: Config, role: str | None, scrubber: SecretScrubber) -> logging.Formatter:
    cls = JsonFormatter if config.log_format == "json" else TextFormatter
    return cls(role, scrubber)


def handler(config: Config, role: str | None, stream=None) -> logging.Handler:
    """A stream handler writing this config's format, request ids on, secrets scrubbed."""
    scrubber = SecretScrubber(config.secrets())
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(formatter(config, role, scrubber))
    out.addFilter(RequestIdFilter())
    out.addFilter(scrubber)
    return out


#: Loggers with handlers of their own, which records never leave for the root handler: gunicorn
#: writes a request it cannot parse as it came (`Invalid HTTP request line: 'POST
#: /webhooks/huawei/<token>...'`), webhook token or bearer token included. Run with
#: gunicorn.conf.py, their handlers write our format (web/gunicorn_logs.py); the filter
#: scrubs them under any other gunicorn set-up too.
OWN_HANDLER_LOGGERS = ("gunicorn.error", "gunicorn.access")

#: Chatty libraries: their INFO lines (pika: one set per connection) only show at DEBUG.
QUIET_LOGGERS = ("pika",)


def setup_logging(config: Config | None = None, role: str | None = None) -> None:
    """Route every record of this process through one handler; `role` (web, worker, clock)
    is written on each line."""
    config = config or Config.from_env()
    out = handler(config, role)
    root = logging.getLogger()
    root.handlers[:] = [out]
    root.setLevel(config.log_level)
    quiet_level = logging.DEBUG if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet_level)
    scrubber = SecretScrubber(config.secrets())
    for name in OWN_HANDLER_LOGGERS:
        logger = logging.getLogger(name)
        logger.filters[:] = [f for f in logger.filters if not isinstance(f, SecretScrubber)]
        logger.addFilter(scrubber)

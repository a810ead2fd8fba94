"""Log lines as written: JSON (the default) or text, request ids on, every secret scrubbed.

Given a process's logging set up from a config with secrets, when records are logged (with
arguments, `extra` fields and exceptions whose text holds a secret), then each line is one JSON
object with the agreed fields, and no secret is in it, however JSON would escape it.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from cmdkeeper import request_ids
from cmdkeeper.config import Config
from cmdkeeper.logs import setup_logging

TOKEN = "tok-9f3a-secret"
ODD = 'odd"se\\cret\u00e9'  # a quote, a backslash and a non-ASCII letter: JSON escapes them


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """Logging of a `web` process into a buffer; the process's logging put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()

    def setup(**settings) -> None:
        config = Config(api_token=TOKEN, webhook_token=ODD, **settings)
        setup_logging(config, role="web")
        root.handlers[0].setStream(out)

    out.setup = setup  # type: ignore[attr-defined]
    yield out
    request_ids.set_current(None)
    root.handlers[:], root.level = saved


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_has_the_agreed_fields(written):
    written.setup()
    request_ids.set_current("abc123")
    logging.getLogger("cmdkeeper.test").info("hello %s", "world", extra={"device": "d1"})
    request_ids.set_current(None)
    logging.getLogger("cmdkeeper.test").warning("no request")

    first, second = lines(written)
    assert first["message"] == "hello world" and first["level"] == "INFO"
    assert first["logger"] == "cmdkeeper.test" and first["role"] == "web"
    assert first["request_id"] == "abc123" and first["device"] == "d1"
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert "request_id" not in second and second["level"] == "WARNING"


def test_secrets_are_scrubbed_from_every_field(written):
    written.setup()
    log = logging.getLogger("cmdkeeper.test")
    log.info("token %s in the message", TOKEN, extra={"detail": {"url": f"/hook/{ODD}"}})
    try:
        raise ValueError(f"bad token {TOKEN!r} and {ODD}")
    except ValueError:
        log.exception("failed with %s", ODD)

    text = written.getvalue()
    escaped = json.dumps(ODD)[1:-1]
    assert TOKEN not in text and ODD not in text and escaped not in text
    info, error = lines(written)
    assert info["message"] == "token *** in the message"
    assert info["detail"] == {"url": "/hook/***"}
    assert error["message"] == "failed with ***"
    assert error["exc_info"].startswith("Traceback") and "ValueError: bad token '***'" \
        in error["exc_info"]


def test_text_format_is_one_plain_line_scrubbed(written):
    written.setup(log_format="text")
    request_ids.set_current("abc123")
    logging.getLogger("cmdkeeper.test").error("sent %s", TOKEN)

    line = written.getvalue().strip()
    assert line.endswith("ERROR cmdkeeper.test [abc123] sent ***")


@pytest.mark.parametrize("incoming", ["abc123", "9f1c2e3a-77aa-4b1e-9c0e-123456789abc",
                                      "Root=1-5759e988-bd862e3fe1be46a994272793", "a" * 200])
def test_a_sane_incoming_request_id_is_kept(incoming):
    assert request_ids.accept(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "a" * 201, 'x", "level": "CRITICAL',
                                      "abc\r\nSet-Cookie: x=1", "abc 123", "\u00e9t\u00e9",
                                      "<script>"])
def test_a_hostile_incoming_request_id_is_replaced(incoming):
    replaced = request_ids.accept(incoming)
    assert replaced != incoming and request_ids.SANE_ID.fullmatch(replaced)


def test_log_format_is_read_from_the_environment():
    assert Config.from_env({}).log_format == "json"
    assert Config.from_env({"LOG_FORMAT": "TEXT"}).log_format == "text"

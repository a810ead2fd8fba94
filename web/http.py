"""HTTP helpers shared by every blueprint: JSON errors, body reading, bearer auth."""

from __future__ import annotations

import hmac
import json
import math
import re
from typing import Any

import orjson
import redis
from dramatiq.errors import BrokerError
from flask import Flask, Request, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

#: Deepest nesting of objects and arrays accepted in a request body. Real bodies nest a few
#: levels; a body nested some 900 deep parses, then exhausts the stack when it is encoded again
#: (for Redis, the platform or the answer).
MAX_JSON_DEPTH = 32

#: A run of digits this long may be an integer beyond 64 bits, which orjson reads as a float and
#: json as an int: such a body is left to json.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


class ApiError(Exception):
    """Raised by a view to answer with a JSON error `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str, **extra: str):
    """`{"error": {"code", "message", ...extra}}` with the status."""
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    return response


def encoded_json_response(body: bytes, status: int = 200) -> Response:
    """An answer whose JSON is encoded once, up front, as Flask's `jsonify` encodes it (compact,
    then a newline): for a hot view whose answers are always the same few bodies."""
    return current_app.response_class(body, status=status, mimetype="application/json")


def install_error_handlers(app: Flask) -> None:
    """Every error leaves as JSON, and no traceback ever reaches a client."""

    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return error_response(e.status, e.code, e.message)

    def _unavailable(what: str, e: Exception, code: str, message: str):
        # 503, not 500: the platforms retry a callback answered 502-504 (Huawei's rule), and
        # nothing was acknowledged, so nothing is lost.
        app.logger.warning("%s unavailable: %s", what, type(e).__name__)
        response = error_response(503, code, message)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(redis.RedisError)
    def _storage_down(e: redis.RedisError):
        return _unavailable("Redis", e, "storage_unavailable",
                            "state storage is unavailable; retry shortly")

    @app.errorhandler(BrokerError)
    def _broker_down(e: BrokerError):
        # with BROKER_URL (RabbitMQ), a job that cannot be queued
        return _unavailable("job broker", e, "broker_unavailable",
                            "the job queue is unavailable; retry shortly")

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        code = (e.name or "error").lower().replace(" ", "_")
        response = error_response(e.code or 500, code, e.description or e.name)
        # keep werkzeug's headers: a 405 must say which methods are allowed (RFC 9110, 15.5.6)
        for name, value in e.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; see the server log")


def read_json(request: Request) -> Any:
    """The request body as JSON; 413 when over the size limit, 400 when it is not JSON."""
    try:
        raw = request.get_data(cache=True)
        if request.content_length is None and request.max_content_length is not None \
                and len(raw) >= request.max_content_length:
            # A streamed (chunked) body is cut at the limit, not refused: probe for more.
            request.stream.read(1)
    except RequestEntityTooLarge:
        raise ApiError(413, "too_large", "request body is over the 64 KiB limit") from None
    if not raw:
        raise ApiError(400, "bad_request", "request body is empty; a JSON object was expected")
    return parse_json(raw)


def parse_json(raw: bytes) -> Any:
    """A request body as JSON; ApiError(400) when it is not JSON or fails a check below. Read
    by orjson where it reads exactly what json does and passes every check; otherwise (and to
    name what is wrong) by json, with the checks."""
    if raw.count(b"{") + raw.count(b"[") <= MAX_JSON_DEPTH and not _LONG_DIGITS.search(raw):
        # orjson refuses NaN, Infinity, numbers out of range, lone surrogates (escaped or not),
        # invalid UTF-8 and a BOM, and this body cannot nest deeper than MAX_JSON_DEPTH: what it
        # accepts, json accepts as the same value and the checks below let through. It is some
        # ten times quicker, on every webhook callback and API call.
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # refused: json says why, in the words these answers have always used
    try:
        body = json.loads(raw, parse_constant=_not_a_number, parse_float=_finite)
        if raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH and _too_deep(body):
            raise ApiError(400, "bad_json", f"request body nests deeper than {MAX_JSON_DEPTH}")
        if b"\\" in raw:
            # only an escape can smuggle in a lone surrogate (`"\\ud800"`), which is not text
            # and fails later, in whatever encodes it (Redis, a signature, a log line)
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        return body
    except RecursionError:
        # `[[[[...` a few thousand deep exhausts the parser's stack: bad input, not our fault
        raise ApiError(400, "bad_json", "request body is nested too deeply") from None
    except UnicodeEncodeError:
        raise ApiError(400, "bad_json",
                       "request body has a lone surrogate escape (\\ud800-\\udfff)") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "bad_json", f"request body is not valid JSON: {e}") from None


def _too_deep(value: Any) -> bool:
    """Whether objects and arrays nest deeper than MAX_JSON_DEPTH (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False


def _not_a_number(literal: str) -> float:
    # Python's json reads NaN and Infinity, which are not JSON: the platforms' clients (requests)
    # refuse to send them on, and our own answers would echo them as invalid JSON
    raise ValueError(f"{literal} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def read_json_object(request: Request) -> dict[str, Any]:
    body = read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "request body must be a JSON object")
    return body


def tokens_match(given: str, expected: str) -> bool:
    """Constant-time comparison; an unset expected token never matches. Any text compares, lone
    surrogates included (a test client, or an undecodable environment variable, makes them)."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""

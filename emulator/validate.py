"""Small input checks shared by the platform emulations; each raises the error `bad` makes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: Makes the platform's "bad input" exception from a detail message.
Bad = Callable[[str], Exception]


def json_str(obj: Mapping[str, Any], key: str, max_len: int, bad: Bad,
             required: bool = False) -> str | None:
    """A string field of 1..max_len characters; None when absent and not required."""
    value = obj.get(key)
    if value is None:
        if required:
            raise bad(f"{key} is required")
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise bad(f"{key} must be a string of 1 to {max_len} characters")
    return value


def json_int(obj: Mapping[str, Any], key: str, lo: int, hi: int | None, bad: Bad) -> int | None:
    """An integer field in [lo, hi] (no upper bound if hi is None); None when absent."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < lo \
            or (hi is not None and value > hi):
        upper = "" if hi is None else f" and <= {hi}"
        raise bad(f"{key} must be an integer >= {lo}{upper}")
    return value


def query_int(args: Mapping[str, str], key: str, default: int | None, lo: int,
              hi: int | None, bad: Bad) -> int | None:
    """An integer query parameter in [lo, hi]; `default` when absent."""
    text = args.get(key)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad(f"{key} must be an integer") from None
    if value < lo or (hi is not None and value > hi):
        upper = "" if hi is None else f" and <= {hi}"
        raise bad(f"{key} must be >= {lo}{upper}")
    return value


def query_time(args: Mapping[str, str], key: str, parse: Callable[[str], int],
               bad: Bad) -> int | None:
    """A time query parameter in the platform's format, as epoch ms; None when absent."""
    text = args.get(key)
    if not text:
        return None
    try:
        return parse(text)
    except ValueError:
        raise bad(f"{key} is not a time in the documented format") from None

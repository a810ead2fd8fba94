"""Request bodies are read by orjson where it is quicker and by json where it would differ:
whichever reads a body, the answer is the one json with cmdkeeper's checks gives.

Given any body (hostile raw bytes, JSON of any shape with NaN, huge numbers and lone
surrogates, the valid callbacks), when web/http.py reads it, then it returns the value the
json reader with the checks returns, or refuses it with the very same error.
"""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.hostile import FUZZ, encode, hostile_raw, json_values
from web import http
from web.http import ApiError


def by_json(raw: bytes):
    """What the body reads as with json only (the reader before orjson was added)."""
    try:
        body = json.loads(raw, parse_constant=http._not_a_number, parse_float=http._finite)
        if raw.count(b"{") + raw.count(b"[") > http.MAX_JSON_DEPTH and http._too_deep(body):
            return ("error", 400, "bad_json",
                    f"request body nests deeper than {http.MAX_JSON_DEPTH}")
        if b"\\" in raw:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        return ("value", body)
    except RecursionError:
        return ("error", 400, "bad_json", "request body is nested too deeply")
    except UnicodeEncodeError:
        return ("error", 400, "bad_json",
                "request body has a lone surrogate escape (\\ud800-\\udfff)")
    except (ValueError, UnicodeDecodeError) as e:
        return ("error", 400, "bad_json", f"request body is not valid JSON: {e}")


def read(raw: bytes):
    try:
        return ("value", http.parse_json(raw))
    except ApiError as e:
        return ("error", e.status, e.code, e.message)


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (1 and 1.0 are not the same body)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


CALLBACKS = [
    b'{"deviceId":"dev-1","commandId":"c-1","result":{"resultCode":"SENT","resultDetail":null}}',
    b'{"resource":"device.command.status","event":"update","event_time":"20261201T095521Z",'
    b'"notify_data":{"header":{"device_id":"d1"},"body":{"command_id":"c1","status":"SENT"}}}',
]


@FUZZ
@given(raw=st.one_of(hostile_raw(), json_values.map(encode), st.sampled_from(CALLBACKS)))
@example(raw=b'{"a":18446744073709551616}')
@example(raw=b'{"a":-9223372036854775809,"b":[1.5e308,1e-400,-0.0,-0]}')
@example(raw=b'{"a":"\\ud83d\\ude00","b":"\\u0000","c":"\xc3\xa9"}')
@example(raw=b'{"a":"\xed\xa0\x80"}')
@example(raw=b'{"a":1,"a":2}')
@example(raw=b"[" * 32 + b"]" * 32)
@example(raw=b"[" * 33 + b"]" * 33)
@example(raw=b"[" * 1020 + b"]" * 1020)
def test_a_body_reads_as_json_with_the_checks_reads_it(raw):
    assert same(read(raw), by_json(raw))

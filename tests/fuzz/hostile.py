"""Hypothesis strategies for hostile HTTP input, and the properties every answer must keep.

Strategies build request parts (ids for a path, JSON bodies of wrong shapes, raw bytes, headers);
`check_answer` asserts what no answer may ever do (a 5xx, a traceback, a Python repr, an echoed
secret, an error that is not `{"error": {"code", "message"}}`), and `snapshot` lets a test prove
that a rejected request left Redis exactly as it was.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import redis
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st

from store import keys

#: Settings of every fuzz test: bounded, no deadline (a real Redis answers), fixtures reused.
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

#: Strings that have broken services before: traversal, injection, Redis globs and hash tags,
#: format strings, control and bidi characters, lone surrogates, an empty one (huge: `texts`).
NASTY = [
    "", " ", "../../etc/passwd", "..\\..\\windows", "%2e%2e%2f", "%00", "\x00", "a\x00b",
    "' OR '1'='1", "1; DROP TABLE commands", "${jndi:ldap://x/a}", "{{7*7}}", "%s%s%n",
    "<script>alert(1)</script>", "*", "ck:*", "{huawei:d1}", "}{", "a b", "\t", "\x1b[31m",
    "\u202e", "\ufeff", "🙂", "null", "NaN", "-Infinity", "0x10", "1e999", "\ud800", "\udfff",
    "\ud83d\ude00", "Ä" * 128,
]
NASTY_BYTES = [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"%"]

texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                  st.sampled_from([129, 5000]).map(lambda n: "x" * n))
numbers = st.one_of(
    st.integers(), st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any],
            values: st.SearchStrategy = json_values) -> dict[str, Any]:
    """A valid body with a few fields replaced by hostile values (nested objects too), one
    dropped, or unknown ones added: close enough to valid to reach the deeper checks."""
    body, names = dict(valid), sorted(valid)
    if not names:
        return draw(st.dictionaries(texts, values, max_size=2))
    for name in draw(st.sets(st.sampled_from(names), max_size=2)):
        if isinstance(valid[name], dict) and valid[name] and draw(st.booleans()):
            body[name] = draw(mutated(valid[name], values))
        else:
            body[name] = draw(st.one_of(texts, numbers, values))
    if draw(st.integers(0, 4)) == 0:
        body.pop(draw(st.sampled_from(names)), None)
    if draw(st.integers(0, 4)) == 0:
        body.update(draw(st.dictionaries(texts, values, min_size=1, max_size=2)))
    return body


def encode(value: Any) -> bytes:
    """JSON as a careless client writes it: NaN and Infinity literals, lone surrogates kept."""
    return json.dumps(value, allow_nan=True).encode()


def hostile_raw() -> st.SearchStrategy[bytes]:
    """Bodies that are not JSON, or only barely: truncated, nested past any recursion limit,
    over the 64 KiB limit, invalid UTF-8, UTF-16, non-finite numbers, huge numbers."""
    deep = st.integers(1, 60_000).flatmap(
        lambda n: st.sampled_from([b"[" * n, b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n]))
    return st.one_of(
        st.binary(max_size=200),
        json_values.map(encode).flatmap(lambda b: st.integers(0, len(b)).map(lambda i: b[:i])),
        deep,
        st.integers(64 * 1024 - 16, 100 * 1024).map(lambda n: b'{"a":"' + b"x" * n + b'"}'),
        st.sampled_from(NASTY_BYTES).map(lambda b: b'{"a":"' + b + b'"}'),
        st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999", b'"\\ud800"', b'{"a":NaN}',
                         b'{"a":1e999}', b"\xef\xbb\xbf{}", b"null", b"", b"{}{}",
                         '{"a":1}'.encode("utf-16")]),
        st.sampled_from([5000, 100_000]).map(lambda n: b"9" * n),
    )


def bodies(valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Any body for a JSON route: mutated valid ones, JSON of any shape, raw hostile bytes."""
    return st.one_of(mutated(valid).map(encode), json_values.map(encode), hostile_raw())


def path_segment() -> st.SearchStrategy[str]:
    """An id as it appears in a URL: hostile text (invalid UTF-8 included), percent-encoded."""
    as_text = texts.filter(bool).map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe=""))
    as_bytes = st.binary(min_size=1, max_size=20).map(lambda b: quote(b, safe=""))
    raw = st.sampled_from(["..", ".", "%2e%2e", "a%2Fb", "%00", "a;b", "a?b=c", "a#b", "%ff"])
    plain = st.from_regex(r"[A-Za-z0-9][\w.:@-]{0,20}", fullmatch=True)
    return st.one_of(as_text, as_bytes, raw, plain)


#: Header text a WSGI server can hand over: latin-1, without line breaks.
header_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60)
CONTENT_TYPES = [None, "application/json", "application/json; charset=utf-16", "text/plain",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/xml", "*/*", "application/json; charset=\x01"]


def headers(valid_auth: str | None = None) -> st.SearchStrategy[dict[str, str]]:
    """Content types of every kind, garbage or wrong Authorization, very long headers."""
    auth = st.one_of(
        st.none(), header_text, header_text.map(lambda t: "Bearer " + t),
        st.sampled_from(["Bearer", "Bearer ", "bearer", "Basic dXNlcjpwYXNz", "Bearer a b",
                         "Bearer " + "A" * 20_000, "Token x", "\x00", "Bearer\tx"]),
        *([st.just(valid_auth), st.just(valid_auth + "x"), st.just(valid_auth[:-1]),
           st.just(valid_auth.lower())] if valid_auth else []),
    )
    long_value = st.integers(1, 32_000).map(lambda n: "v" * n)
    return st.fixed_dictionaries(
        {},
        optional={
            "Authorization": auth,
            "Content-Type": st.sampled_from(CONTENT_TYPES).filter(bool),
            "X-Long": long_value,
            "Accept": st.sampled_from(["text/html", "*/*", "application/xml", "\x7f"]),
            "X-Garbage": header_text,
        },
    )


_REPR_MARKERS = re.compile(
    r"Traceback \(most recent|File \"|line \d+, in |object at 0x|<class '|<built-in|"
    r"<function |Error\(|Exception\(|\bself\.\w|redis\.exceptions|werkzeug\.|flask\."
)


def check_answer(response, secrets: list[str], *, text_ok: bool = False) -> dict | None:
    """Assert what no answer may do; returns the JSON body (None when there is none to check:
    HEAD, a redirect, OneNET's plain-text verification answer)."""
    status, raw = response.status_code, response.get_data()
    assert status < 500, f"{status}: {raw[:300]!r}"
    body_text = raw.decode("utf-8", "replace")
    assert not _REPR_MARKERS.search(body_text), f"internals in the answer: {body_text[:300]}"
    for secret in secrets:
        assert secret not in body_text, "a configured secret is echoed in the answer"
    body = _json_body(response, text_ok)
    if status >= 400 and response.request.method != "HEAD":
        assert isinstance(body, dict) and set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error, dict) and {"code", "message"} <= set(error), body
        assert set(error) <= {"code", "message", "platform_code"}, body
        assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"]), body
        assert isinstance(error["message"], str) and error["message"], body
    if currently_in_test_context():  # the outcomes reached: --hypothesis-show-statistics
        event(f"{status} {body['error']['code'] if status >= 400 and body else ''}")
    return body


def _json_body(response, text_ok: bool) -> Any:
    status, raw, method = response.status_code, response.get_data(), response.request.method
    if status in (301, 308):
        # werkzeug merges doubled slashes (`/api/v1//commands`) with a redirect, before any view
        # runs: not an error, but it must stay on this host
        assert response.location.startswith("http://localhost/"), response.location
        return None
    if method == "HEAD" or (status < 300 and not raw and method == "OPTIONS"):
        return None
    if text_ok and status == 200 and response.mimetype == "text/plain":
        return None
    assert response.mimetype == "application/json", (status, response.mimetype, raw[:200])

    def refuse(literal: str) -> None:
        raise AssertionError(f"non-standard JSON literal {literal} in an answer")

    return json.loads(raw, parse_constant=refuse)


#: Metric counters are flushed by a background thread at any moment, and counting a refused
#: request is not changing state.
NOT_STATE = (keys.METRIC_COUNTERS,)


def snapshot(client: redis.Redis, *, ignore: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every key with its serialised value (DUMP): equal snapshots mean nothing changed."""
    skip = (*ignore, *NOT_STATE)
    names = sorted(k for k in client.scan_iter(count=1000) if not k.startswith(skip))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.dump(name)
    return dict(zip(names, pipe.execute(), strict=True))

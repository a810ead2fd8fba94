"""The Lua contract: every script in store/lua/ has a header, a typed call in store/script_calls.py
whose keyword parameters are the header's names in its order, and every call has a script; the
checks themselves catch a header and a call that disagree."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from store import scripts
from store.script_calls import Scripts


def calls() -> dict[str, Callable]:
    """The typed calls: the public methods `Scripts` adds to the registry."""
    return {name: fn for name, fn in vars(Scripts).items()
            if callable(fn) and not name.startswith("_")}


def disagreement(header: scripts.Header, call: Callable) -> str | None:
    """How a call's parameters differ from its script's header, None when they agree."""
    params = [p for p in inspect.signature(call).parameters.values()
              if p.name not in ("self", "client")]
    not_keyword = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if not_keyword:
        return f"not keyword-only: {not_keyword}"
    names = [p.name for p in params]
    if names != header.params():
        return f"parameters {names} != header {header.params()}"
    untyped = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    return f"untyped: {untyped}" if untyped else None


@pytest.mark.parametrize("name", scripts.names())
def test_each_script_has_a_call_that_matches_its_header(name):
    assert name in calls(), f"store/lua/{name}.lua has no call in store/script_calls.py"
    assert disagreement(scripts.header(name), calls()[name]) is None


def test_each_call_has_a_script():
    assert sorted(calls()) == scripts.names()


@pytest.mark.parametrize("name", scripts.names())
def test_each_script_compiles_as_it_is_sent(redis_client, name):
    # common.lua prepended where used: a helper missing or misspelt fails here, not in a test of
    # something else
    assert redis_client.script_load(scripts.source(name))


SAMPLE = """-- What it does.
-- KEYS: cmd, device_cmds,
--       due_revoke
-- ARGV: command_id, #ids, ...ids
-- Returns 1.
-- KEYS: a line past the header is never read
return 1
"""


class Sample:
    def good(self, *, cmd: str, device_cmds: str, due_revoke: str, command_id: str,
             ids: list[str], client=None): ...

    def swapped(self, *, device_cmds: str, cmd: str, due_revoke: str, command_id: str,
                ids: list[str], client=None): ...

    def positional(self, cmd: str, device_cmds: str, due_revoke: str, command_id: str,
                   ids: list[str], client=None): ...

    def untyped(self, *, cmd, device_cmds: str, due_revoke: str, command_id: str,
                ids: list[str], client=None): ...


def test_the_parser_reads_continuations_runs_and_counts():
    header = scripts.parse_header(SAMPLE)
    assert header.keys == ("cmd", "device_cmds", "due_revoke")
    assert header.argv == ("command_id", "#ids", "...ids")
    assert header.params() == ["cmd", "device_cmds", "due_revoke", "command_id", "ids"]


def test_the_comparison_catches_a_call_that_disagrees():
    header = scripts.parse_header(SAMPLE)
    assert disagreement(header, Sample.good) is None
    assert "!= header" in disagreement(header, Sample.swapped)
    assert "not keyword-only" in disagreement(header, Sample.positional)
    assert "untyped" in disagreement(header, Sample.untyped)
    renamed = scripts.parse_header(SAMPLE.replace("due_revoke", "due_reconcile"))
    assert "!= header" in disagreement(renamed, Sample.good)


@pytest.mark.parametrize("text", [
    "-- KEYS: a\nreturn 1\n",  # no ARGV
    "-- KEYS: a\n-- Then:\n-- ARGV: b\n",  # ARGV not right after the KEYS
    "-- KEYS: a,\nreturn 1\n-- ARGV: b\n",  # past the opening comment
    "-- KEYS: a key\n-- ARGV: b\n",  # not a name
    "-- KEYS: a\n-- ARGV: #b\n",  # counts no run
    "-- KEYS: a\n-- ARGV: a\n",  # one name, two places
])
def test_the_parser_refuses_a_header_off_the_notation(text):
    with pytest.raises(scripts.HeaderError):
        scripts.parse_header(text)

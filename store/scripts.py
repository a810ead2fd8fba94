"""The Lua scripts in `store/lua/`: their contract (each script's header), and how they are loaded,
registered on a Redis client and called. Every script cmdkeeper runs is a file there, so that what
a script expects is written in one place; `store/script_calls.py` holds the typed call of each.

Each script opens with a header naming what it takes, in order:

    -- KEYS: cmd, device_cmds, device_stale,
    --       due_revoke
    -- ARGV: command_id, now_ms, ...fill

- A name is KEYS[i] or ARGV[i] at its place; a list ending in a comma goes on on the next line.
- `...name` is a variable run of values (field/value pairs, one key per event, ...): the caller
  gives a sequence, or a mapping for pairs; its comment in the script says what one item is.
- `#name` is how many items the run `...name` has: the call fills it in, the caller never does
  (a script that takes two runs in one list needs it to tell where the first ends).

The names are the contract: each script's call in `store/script_calls.py` has exactly these
keyword parameters in this order (minus the `#` counts), and builds KEYS and ARGV from this header
by name, so a call cannot put a value at the wrong place (tests/store/test_script_calls.py checks
the parameters).

A script that uses the helpers of `common.lua` is that file followed by its own (Redis scripts
cannot include each other). Registered scripts run with EVALSHA and fall back to EVAL once after
a Redis restart (redis-py's `Script`): one round trip either way, and on a pipeline, queued with
it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.commands.core import Script

from store.direct import DirectConnections

LUA_DIR = Path(__file__).parent / "lua"
#: Scripts that use the helpers of common.lua (every script that reads or writes a command
#: record does: common.lua holds the records' encoding).
SHARED = ("apply_event", "create_command", "finish_reconcile", "record_error",
          "request_reconcile", "refresh_due", "park", "record_release", "list_device",
          "device_state", "next_held", "count_existing", "remove_final", "index_final",
          "read_records", "pack_records")

#: A Redis client, a pipeline a call is queued on, or connections of a hot path's own.
Client = redis.Redis | redis.client.Pipeline | DirectConnections

_NAME = re.compile(r"(\.\.\.|#)?([a-z_][a-z0-9_]*)")


class HeaderError(ValueError):
    """Raised when a script's KEYS/ARGV header is missing or does not follow the notation."""


@dataclass(frozen=True)
class Header:
    """The KEYS and ARGV of one script, each entry as written (`name`, `...name`, `#name`)."""

    keys: tuple[str, ...]
    argv: tuple[str, ...]

    def params(self) -> list[str]:
        """The parameters a call of the script takes, in order: every name but the counts."""
        return [entry.removeprefix("...") for entry in self.keys + self.argv
                if not entry.startswith("#")]


def names() -> list[str]:
    """Every script, by file name without `.lua` (common.lua is a part of others, not one)."""
    return sorted(p.stem for p in LUA_DIR.glob("*.lua") if p.stem != "common")


@cache
def source(name: str) -> str:
    body = (LUA_DIR / f"{name}.lua").read_text()
    if name in SHARED:
        return (LUA_DIR / "common.lua").read_text() + "\n" + body
    return body


@cache
def header(name: str) -> Header:
    return parse_header((LUA_DIR / f"{name}.lua").read_text(), name)


def parse_header(text: str, name: str = "script") -> Header:
    """The header of a script's text: the first `-- KEYS:` line of its opening comment, then
    right after it the `-- ARGV:` line, each with its continuations (nothing else is read)."""
    lines = iter(line[2:].strip() for line in itertools.takewhile(
        lambda line: line.startswith("--"), text.splitlines()))
    for line in lines:
        if line.startswith("KEYS:"):
            break
    else:
        raise HeaderError(f"{name}: no `-- KEYS:` line in the opening comment")
    keys, line = _read_list(line.removeprefix("KEYS:"), lines, name)
    if line is None or not line.startswith("ARGV:"):
        raise HeaderError(f"{name}: the `-- ARGV:` line must follow the KEYS")
    argv, _ = _read_list(line.removeprefix("ARGV:"), lines, name)
    parsed = Header(tuple(keys), tuple(argv))
    entries = parsed.keys + parsed.argv
    for entry in entries:
        if not _NAME.fullmatch(entry):
            raise HeaderError(f"{name}: {entry!r} is not a name, `...name` or `#name`")
        if entry.startswith("#") and "..." + entry[1:] not in entries:
            raise HeaderError(f"{name}: {entry} counts no `...{entry[1:]}`")
    params = parsed.params()
    if len(set(params)) != len(params):
        raise HeaderError(f"{name}: a name appears twice")
    return parsed


def _read_list(first: str, lines: Iterator[str], name: str) -> tuple[list[str], str | None]:
    """The entries of a list starting with `first` and going on while a line ends in a comma,
    and the line after it (None at the end of the comment)."""
    entries: list[str] = []
    line: str | None = first
    while line is not None:
        entries += [entry.strip() for entry in line.split(",") if entry.strip()]
        more = line.rstrip().endswith(",")
        line = next(lines, None)
        if not more:
            break
    if not entries:
        raise HeaderError(f"{name}: an empty KEYS or ARGV list")
    return entries, line


#: How `_pack` fills in one entry of a header: a value, a variable run, a run's count.
_VALUE, _RUN, _COUNT = 0, 1, 2


def _plan(entries: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Each entry as (how, name), worked out once per script rather than on every call."""
    return tuple((_COUNT, e[1:]) if e.startswith("#") else (_RUN, e[3:]) if e.startswith("...")
                 else (_VALUE, e) for e in entries)


@cache
def plan(name: str) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]:
    """How a call of script `name` fills in KEYS and ARGV (its header, as `_pack` reads it)."""
    head = header(name)
    return _plan(head.keys), _plan(head.argv)


def _pack(entries: tuple[tuple[int, str], ...], values: Mapping[str, Any]) -> list[Any]:
    packed: list[Any] = []
    for how, name in entries:
        if how == _VALUE:
            packed.append(_scalar(values[name]))
        elif how == _RUN:
            packed += _run_of(values[name])
        else:
            packed.append(len(values[name]))
    return packed


def _run_of(value: Any) -> list[Any]:
    """A variable run as the script reads it: a mapping's pairs, or each item (a tuple's parts
    one after the other)."""
    items = value.items() if isinstance(value, Mapping) else value
    run: list[Any] = []
    for item in items:
        if isinstance(item, tuple):
            run += [_scalar(part) for part in item]
        else:
            run.append(_scalar(item))
    return run


def _scalar(value: Any) -> Any:
    # Lua sees every argument as a string; the scripts test flags with `== '1'`
    if isinstance(value, bool):
        return "1" if value else "0"
    return value


class Registry:
    """The scripts registered on one Redis client, each the first time it is called."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._registered: dict[str, Script] = {}

    def run(self, name: str, values: Mapping[str, Any], client: Client | None = None) -> Any:
        """Run script `name` with KEYS and ARGV taken from `values` by its header's names; on a
        pipeline (`client`), the call is queued and its reply comes with the pipeline's."""
        script = self._registered.get(name)
        if script is None:
            # computing the SHA is all registering does (no round trip)
            script = self._registered[name] = self.client.register_script(source(name))
        keys_plan, argv_plan = plan(name)
        keys, args = _pack(keys_plan, values), _pack(argv_plan, values)
        if isinstance(client, DirectConnections):
            return client.run(script, keys, args)
        return script(keys=keys, args=args, client=client)

"""Script calls on connections kept apart from redis-py's per-command machinery: for the web's
hottest round trip, the webhook's ingest script (store/ingest.py).

redis-py's client takes a connection from its pool and gives it back around every command: a
lock each way, a readiness poll of the socket (a system call that lets go of the GIL), several
observability hooks and a retry wrapper. Profiled in gunicorn's threads under bench/ingest's
load, that machinery cost the webhook some 70-80 µs of CPU per callback, about as much as
everything the webhook does itself. `DirectConnections` keeps a few connections of the client's
own kind (same server, timeouts, health checks, retry policy) on a list of its own, takes one
for each call, sends the EVALSHA on it and puts it back; `store/scripts.py` `Registry.run` runs
a script here when it is given these as its client.

It behaves as the client does where it matters: a dropped link or a timeout is retried with the
connection's retry policy (the one redis-py applies), reconnecting first; a link the server
closed while it sat idle is found out by the call and the call made once more on a new link,
where redis-py's pool polls the socket before each command (so a script must be safe to run
twice, as with any retry: the ingest script dedupes); an error reply is raised as it is, and
after a NOSCRIPT `run` loads the script and runs it again, as redis-py's `Script` does. A
connection goes back on the list with nothing unread on it: any failure but an error reply
disconnects it first, so no late reply is ever read as the next call's. After a fork, the child
starts with no connections of its own.

What it gives up: redis-py's per-command observability hooks (off unless configured).
"""

from __future__ import annotations

import os
from typing import Any

import redis
from redis.commands.core import Script
from redis.connection import AbstractConnection
from redis.exceptions import NoScriptError, ResponseError


class DirectConnections:
    """Runs redis-py `Script`s on connections of their own."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._pid = os.getpid()
        # idle connections; list.pop and list.append are atomic, so threads share it unlocked
        self._idle: list[AbstractConnection] = []

    def _take(self) -> tuple[AbstractConnection, bool]:
        """A connection, and whether it sat idle on the list (rather than being new)."""
        if self._pid != os.getpid():  # a forked child must not share its parent's sockets
            self._pid, self._idle = os.getpid(), []
        try:
            return self._idle.pop(), True
        except IndexError:
            return self.client.connection_pool.make_connection(), False

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        """As `redis.Redis.evalsha`: the script's reply, or the error it raised."""
        command = ("EVALSHA", sha, numkeys, *keys_and_args)
        conn, reused = self._take()
        try:
            try:
                return _send(conn, command)
            except redis.ConnectionError:
                if not reused:
                    raise
                # The server may have closed a link while it sat idle (a restart, its idle
                # timeout, CLIENT KILL): redis-py's pool polls for that before each command,
                # this finds out by trying, and tries once more on a new link.
                return _send(conn, command)
        except ResponseError:
            raise  # an error reply, read in full: the link is fine
        except BaseException:
            conn.disconnect()  # its reply may still come: never read it as another call's
            raise
        finally:
            self._idle.append(conn)  # a disconnected one reconnects when next taken

    def run(self, script: Script, keys: list[Any], args: list[Any]) -> Any:
        """`script(keys=keys, args=args)`, as redis-py's `Script` runs it: EVALSHA, and after a
        NOSCRIPT (Redis restarted, or its scripts were flushed) SCRIPT LOAD and EVALSHA again."""
        try:
            return self.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            script.sha = self.client.script_load(script.script)
            return self.evalsha(script.sha, len(keys), *keys, *args)


def _send(conn: AbstractConnection, command: tuple[Any, ...]) -> Any:
    """The reply to `command`, with the connection's retry policy (disconnecting before each
    retry, as redis-py's client does)."""

    def call() -> Any:
        conn.send_command(*command)
        return conn.read_response()

    return conn.retry.call_with_retry(call, lambda _error: conn.disconnect())

"""A real RabbitMQ for the RabbitMQ broker tests, and a relay to it that a test can cut.

RABBITMQ_URL names the server (default: a local one with the guest account); when none answers,
every test here is skipped, saying so. Each test module gets a vhost of its own, created with
`rabbitmqctl` when the server is local and the tool can reach it, and deleted afterwards with
everything in it; otherwise the tests use the URL's vhost and purge the queues they declare
(then two runs at once on that vhost would disturb each other).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit
from uuid import uuid4

import pika
import pika.exceptions
import pytest

from dev.procs import free_port

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Queues the stack declares (each with dramatiq's delay and dead-letter queues beside it).
QUEUES = ("cmdkeeper", "cmdkeeper-revoke")


def _answers(url: str) -> str | None:
    """None when a RabbitMQ answers at `url`, else why not."""
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = parameters.stack_timeout = 3
    parameters.connection_attempts = 1
    try:
        pika.BlockingConnection(parameters).close()
    except pika.exceptions.AMQPError as e:
        return repr(e)
    return None


def _rabbitmqctl(*args: str) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    try:
        result = subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


@pytest.fixture(scope="session")
def rabbitmq_server_url() -> str:
    url = os.environ.get("RABBITMQ_URL") or DEFAULT_URL
    if (why := _answers(url)) is not None:
        pytest.skip(f"no RabbitMQ at {urlsplit(url).hostname}:{urlsplit(url).port or 5672} "
                    f"(set RABBITMQ_URL to use another): {why}")
    return url


@pytest.fixture(scope="module")
def rabbitmq_url(rabbitmq_server_url: str) -> Iterator[str]:
    """A RabbitMQ URL whose vhost is this module's alone (when it can be had), emptied after."""
    parts = urlsplit(rabbitmq_server_url)
    vhost = f"cmdkeeper-test-{uuid4().hex[:12]}"
    if parts.hostname in LOCAL_HOSTS and _rabbitmqctl("add_vhost", vhost):
        _rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
        yield with_vhost(rabbitmq_server_url, vhost)
        _rabbitmqctl("delete_vhost", vhost)
        return
    _delete_queues(rabbitmq_server_url)
    yield rabbitmq_server_url
    _delete_queues(rabbitmq_server_url)


def _delete_queues(url: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for name in QUEUES:
            for queue in (name, f"{name}.DQ", f"{name}.XQ"):
                channel = connection.channel()
                try:
                    channel.queue_delete(queue)
                except pika.exceptions.ChannelClosedByBroker:
                    pass  # never declared
    finally:
        connection.close()


class Relay:
    """A TCP relay to RabbitMQ on a fixed local port: `cut()` drops every connection and refuses
    new ones, as a RabbitMQ gone away would; `restore()` listens again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    def url(self, rabbitmq_url: str) -> str:
        parts = urlsplit(rabbitmq_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            _close(self.listener)
            self.listener = None
        with self.lock:
            for s in self.sockets:
                _close(s)
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv() on it
    except OSError:
        pass
    s.close()


@pytest.fixture
def relay(rabbitmq_url: str) -> Iterator[Relay]:
    parts = urlsplit(rabbitmq_url)
    r = Relay(parts.hostname or "127.0.0.1", parts.port or 5672)
    r.restore()
    yield r
    r.cut()

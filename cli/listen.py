"""`listen`: a temporary subscription delivered to this terminal, as `stripe listen` does.

It serves HTTP on a local port, subscribes that address to the change feed, verifies every
delivery with the `standardwebhooks` library (the application's own check) and prints it, and
removes the subscription when it stops (Ctrl-C). The workers and the clock deliver, as for any
subscription: they must be running. The subscription is marked local, which lets the workers
send to this machine's address without NOTIFY_ALLOW_INSECURE.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cli.errors import EXIT_FAILED, CliError
from cli.session import Session
from store.model import PLATFORMS
from store.subscriptions import SubscriptionStore

DEFAULT_PORT = 9000


def line(event: dict) -> str:
    """One delivered event as a terminal line."""
    before = event.get("previous_state") or "new"
    return (f"{event['at']}  {event['id']:>22}  {event['platform']}:{event['device_id']}  "
            f"{event['command_id']}  {before} -> {event['state']}  ({event['source']})")


class Listener:
    """The local receiver and its subscription; `start()`, then `stop()` removes both."""

    def __init__(self, session: Session, host: str, port: int, platforms: tuple[str, ...],
                 echo: Callable[[str], None] = click.echo) -> None:
        self.session, self.host, self.port, self.platforms = session, host, port, platforms
        self.echo = echo
        self.subscriptions = SubscriptionStore(session.client)
        self.server: ThreadingHTTPServer | None = None
        self.subscription_id: str | None = None
        self.secret = ""
        self.received = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> None:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = listener.receive(body.decode("utf-8", "replace"), dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:  # the events are printed, not the requests
                pass

        try:
            self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as e:
            raise CliError(f"cannot listen on {self.host}:{self.port}: {e.strerror}",
                           EXIT_FAILED) from None
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        sub, self.secret = self.subscriptions.create(
            self.url, self.session.now(), description="python -m cmdkeeper listen",
            platforms=self.platforms, local=True)
        self.subscription_id = sub.id

    def receive(self, body: str, headers: dict[str, str]) -> int:
        """Verify and print one delivery; the HTTP status to answer."""
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as e:
            self.echo(f"refused a delivery: its signature does not verify ({e})")
            return 400
        self.received += 1
        self.echo(line(payload["data"]))
        return 200

    def stop(self) -> None:
        if self.subscription_id is not None:
            self.subscriptions.delete(self.subscription_id)
            self.subscription_id = None
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@click.command("listen", short_help="Print the change feed's events as subscribers get them.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Local port to receive on (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the workers must reach it.")
@click.option("--platform", "platforms", type=click.Choice(PLATFORMS), multiple=True,
              help="Only this platform's events (repeat for more; default: all).")
@click.pass_obj
def listen_command(session: Session, port: int, host: str, platforms: tuple[str, ...]) -> None:
    """Subscribe this terminal to every change of a command's state, until Ctrl-C.

    Each delivery is verified as an application would (Standard Webhooks signature, with the
    subscription's secret, printed at the start) and printed as one line. The subscription is
    removed on exit. The worker and clock processes deliver: they must be running.

    \b
    Example:
      python -m cmdkeeper listen --port 9000
    """
    listener = Listener(session, host, port, platforms)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    listener.start()
    click.echo(f"Listening on {listener.url} as subscription {listener.subscription_id} "
               f"(secret {listener.secret}); Ctrl-C stops and removes it.", err=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        signal.signal(signal.SIGTERM, previous)
        click.echo(f"Stopped after {listener.received} event(s); subscription removed.", err=True)

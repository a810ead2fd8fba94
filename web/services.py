"""What the web views need, built once per process by `app.create_app`: `services()` in a view.

Views never build a store, a sink or a gateway themselves and never read the environment; they
ask `services()` for the ones the app was created with (a test's app gets the test's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app

from cmdkeeper.clock import Clock
from cmdkeeper.config import Config
from platforms.gateway import Gateway
from store.commands import CommandStore
from store.model import Event

#: Checks the signature of an IoTDA push: (headers, raw body) -> True when it is IoTDA's.
PushVerifier = Callable[[Mapping[str, str], bytes], bool]

#: The key of cmdkeeper's services in `app.extensions`.
EXTENSION = "cmdkeeper"


class Sink(Protocol):
    """Where a webhook's accepted events go: webhooks/sink.py (`build_sink` picks the one for
    the configured broker)."""

    def submit(self, events: list[Event], awake: Sequence[tuple[str, str]] = (),
               hint_at_ms: int = 0) -> list[bool]: ...


@dataclass(frozen=True)
class Services:
    """The process's configuration, store, webhook sink, clock and platform gateways."""

    config: Config
    store: CommandStore
    sink: Sink
    clock: Clock
    gateways: dict[str, Gateway]
    #: Checks IoTDA push signatures; None (the default): no check, the path token is the
    #: credential (webhooks/iotda.py).
    iotda_push_verifier: PushVerifier | None = None


def install(app: Flask, services: Services) -> None:
    app.extensions[EXTENSION] = services


def services() -> Services:
    """The services of the app serving the current request."""
    return current_app.extensions[EXTENSION]

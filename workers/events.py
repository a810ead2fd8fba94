"""Applying status events: the plain function behind the `apply_event` actor."""

from __future__ import annotations

import logging

from cmdkeeper.clock import Clock
from store.commands import CommandStore
from store.model import Event, State

log = logging.getLogger(__name__)


def apply_event(store: CommandStore, message: dict, clock: Clock) -> tuple[str, State]:
    """Apply one queued event to its command; returns what happened and the resulting state."""
    event = Event.from_message(message)
    outcome, state = store.apply_event(event, clock())
    if log.isEnabledFor(logging.DEBUG):
        log.debug("event applied: %s %s %s -> %s (%s)", event.platform, event.command_id,
                  event.state.value, state.value, outcome)
    return outcome, state

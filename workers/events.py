"""Applying status events: the plain function behind the `apply_event` actor."""

from __future__ import annotations

import logging

from cmdkeeper.clock import Clock
from store.commands import CommandStore
from store.model import Event, State

log = logging.getLogger(__name__)


def apply_event(store: CommandStore, message: dict, clock: Clock) -> tuple[str, State | None]:
    """Apply one queued event to its command; returns what happened and the resulting state
    (None for a status cmdkeeper does not know, of a command it has no record of)."""
    event = Event.from_message(message)
    outcome, state = store.apply_event(event, clock())
    if outcome == "unknown":
        # kept on the timeline as not applied, and the device's history re-checked; the word
        # itself is the platform's (no secret), and says which vocabulary entry is missing
        log.info("unknown %s status %r for command %s: noted, not applied; its device is "
                 "reconciled", event.platform, event.platform_status, event.command_id)
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("event applied: %s %s %s -> %s (%s)", event.platform, event.command_id,
                  event.state, state, outcome)
    return outcome, state

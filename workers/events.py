"""Applying status events: the plain function behind the `apply_event` actor."""

from __future__ import annotations

import logging

import dramatiq

from cmdkeeper.clock import Clock
from store.commands import Applied, CommandStore
from store.model import Event

log = logging.getLogger(__name__)


class NotYetRecorded(dramatiq.Retry):
    """Raised for an event naming a command cmdkeeper does not know yet while a creation or a
    release on its device is recording one (IoTDA: its platform id becomes known in a moment);
    the actor's retry (its usual backoff, logged without a traceback: nothing failed) applies it
    to the right record instead of creating a second one."""


def apply_event(store: CommandStore, message: dict, clock: Clock) -> Applied:
    """Apply one queued event to its command; says what happened, the resulting state (None for
    a status cmdkeeper does not know, of a command it has no record of), and whether the device
    may now hand over a held-back command (`release`)."""
    event = Event.from_message(message)
    applied = store.apply(event, clock())
    if applied.outcome == "wait":
        raise NotYetRecorded(f"{event.platform} command {event.command_id} of device "
                             f"{event.device_id}: its device is being written; tried again")
    if applied.outcome == "unknown":
        # kept on the timeline as not applied, and the device's history re-checked; the word
        # itself is the platform's (no secret), and says which vocabulary entry is missing
        log.info("unknown %s status %r for command %s: noted, not applied; its device is "
                 "reconciled", event.platform, event.platform_status, event.command_id)
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("event applied: %s %s %s -> %s (%s)", event.platform, event.command_id,
                  event.state, applied.state, applied.outcome)
    return applied

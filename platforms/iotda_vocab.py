"""IoTDA v5 command statuses and how they map onto cmdkeeper's states (docs/platforms.md,
"IoTDA: commands").

v5 has no CANCELED: nothing revokes a command at the platform, so a command held back by
cmdkeeper ends EXPIRED there (its `expire_time` ran out) or never reaches the platform at all.
A held command cmdkeeper revokes is recorded CANCELED with the status HELD (`CANCELED` below):
the platform never had it, and has no word for it.
"""

from __future__ import annotations

from store.model import HELD_STATUS, State

#: The `platform_status` of a revoked command: it was held in cmdkeeper, never on the platform.
CANCELED = HELD_STATUS

#: IoTDA `status` -> state.
STATES = {
    "PENDING": State.PENDING,
    "SENT": State.SENT,
    "DELIVERED": State.DELIVERED,
    "SUCCESSFUL": State.SUCCEEDED,
    "FAILED": State.FAILED,
    "TIMEOUT": State.TIMEOUT,
    "EXPIRED": State.EXPIRED,
}
#: What the in-queue list holds; the history list holds the rest (and DELIVERED commands left
#: without an update for a platform-set time).
IN_QUEUE = ("PENDING", "SENT", "DELIVERED")
IN_HISTORY = ("EXPIRED", "SUCCESSFUL", "FAILED", "TIMEOUT", "DELIVERED")


def state_of(status: str) -> State | None:
    """The state of an IoTDA status; None for a status v5 does not document."""
    return STATES.get(status)

"""Huawei's command status words and what each means in cmdkeeper's states (docs/architecture.md,
"The command model"; sources in docs/platforms.md, "What real clients showed").

The one place Huawei's vocabulary lives: the webhook (v1 `resultCode`, IoTDA v5 `status`), the
history reader (`status` of a queried command) and the revocation all read it here.
"""

from __future__ import annotations

from store.model import State

#: What Huawei calls a command it cancelled (a modify to CANCELED, a cancel task's result).
CANCELED = "CANCELED"

#: Huawei v1 `status` / `resultCode` and IoTDA v5 `status` -> state. `SUCCESS` and `FAIL` are
#: the spellings of Huawei's northbound SDK references (Java, PHP, Python: "NB-IoT command
#: status change notification"); the API reference and history say SUCCESSFUL and FAILED.
STATES = {
    "DEFAULT": State.PENDING,
    "PENDING": State.PENDING,
    "SENT": State.SENT,
    "DELIVERED": State.DELIVERED,
    "SUCCESSFUL": State.SUCCEEDED,
    "SUCCESS": State.SUCCEEDED,
    "FAILED": State.FAILED,
    "FAIL": State.FAILED,
    "TIMEOUT": State.TIMEOUT,
    "EXPIRED": State.EXPIRED,
    CANCELED: State.CANCELED,
}


def state_of(status: object) -> State | None:
    """The state a Huawei status word means; None for anything else (a word this table lacks,
    or not a string at all)."""
    return STATES.get(status) if isinstance(status, str) else None

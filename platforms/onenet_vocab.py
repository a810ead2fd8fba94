"""OneNET's cached-command status codes and what each means in cmdkeeper's states
(docs/architecture.md, "The command model"; sources in docs/platforms.md, "What real clients
showed").

The one place OneNET's vocabulary lives: the push receiver (int codes), the history reader
(`confirm_status` by name), the revocation and the emulator all read it here. A status is kept
as OneNET's own text: `send_status`, or `send_status/confirm_status` once the device answered.
"""

from __future__ import annotations

from store.model import State

#: `send_status` of a command cancelled through the API, as cmdkeeper records it.
CANCELED = "2"

#: OneNET `send_status` -> state (5 is refined by `confirm_status`, see `onenet_state`).
SEND_STATES = {
    1: State.PENDING,
    2: State.CANCELED,
    3: State.SENT,
    4: State.EXPIRED,
    5: State.DELIVERED,
    6: State.FAILED,
    7: State.TIMEOUT,
    8: State.FAILED,
}

#: What each `send_status` is called (for people: the dashboard shows `5/0` by name).
SEND_NAMES = {1: "wait", 2: "cancelled", 3: "sent", 4: "expired", 5: "delivered", 6: "failed",
              7: "timeout", 8: "undefined"}

#: OneNET `confirm_status` names (history) by their int code (pushes).
CONFIRM_NAMES = {
    0: "SUCCESS", 1: "METHOD_NOT_ALLOWED", 2: "FORBIDDEN", 3: "NOT_FOUND",
    4: "INTERNAL_SERVER_ERROR", 5: "TIME_OUT", 6: "REQ_PARAM_ERROR", 7: "RESP_ERROR",
    8: "UNAUTHORIZED", 9: "BAD_REQUEST", 10: "NOT_ACCEPTABLE", 11: "UNSUPPORTED_CONTENT_FORMAT",
    12: "OFFLINE", 13: "ADDR_OCCUPIED",
}
CONFIRM_CODES = {v: k for k, v in CONFIRM_NAMES.items()}


def onenet_state(send_status: int, confirm_status: int | None) -> State:
    """The state of a OneNET cached command from its send and confirm status.

    Raises KeyError for a send_status or confirm_status outside the documented enums.
    """
    state = SEND_STATES[send_status]
    if confirm_status is None:
        return state
    if confirm_status not in CONFIRM_NAMES:
        raise KeyError(confirm_status)
    if confirm_status == 0:
        return State.SUCCEEDED
    if confirm_status == 5:
        return State.TIMEOUT
    return State.FAILED


def status_text(send_status: int, confirm_status: int | None) -> str:
    """The status as cmdkeeper records it: `5/0`, or `1` before the device answered."""
    return str(send_status) if confirm_status is None else f"{send_status}/{confirm_status}"


def status_name(text: str) -> str:
    """A recorded status (`5/0`, `1`) with its names: `5 delivered · 0 SUCCESS`; as it is when
    it is not one."""
    send, _, confirm = text.partition("/")
    try:
        name = f"{send} {SEND_NAMES[int(send)]}"
        return f"{name} · {confirm} {CONFIRM_NAMES[int(confirm)]}" if confirm else name
    except (KeyError, ValueError):
        return text

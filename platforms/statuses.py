"""How each platform's command statuses map onto cmdkeeper's states (docs/architecture.md, "The
command model")."""

from __future__ import annotations

from store.model import State

#: Huawei v1 `status` / `resultCode` and IoTDA v5 `status` -> state.
HUAWEI = {
    "DEFAULT": State.PENDING,
    "PENDING": State.PENDING,
    "SENT": State.SENT,
    "DELIVERED": State.DELIVERED,
    "SUCCESSFUL": State.SUCCEEDED,
    "FAILED": State.FAILED,
    "TIMEOUT": State.TIMEOUT,
    "EXPIRED": State.EXPIRED,
    "CANCELED": State.CANCELED,
}

#: OneNET `send_status` -> state (5 is refined by `confirm_status`, see `onenet_state`).
ONENET_SEND = {
    1: State.PENDING,
    2: State.CANCELED,
    3: State.SENT,
    4: State.EXPIRED,
    5: State.DELIVERED,
    6: State.FAILED,
    7: State.TIMEOUT,
    8: State.FAILED,
}

#: OneNET `confirm_status` names (history) by their int code (pushes).
ONENET_CONFIRM_NAMES = {
    0: "SUCCESS", 1: "METHOD_NOT_ALLOWED", 2: "FORBIDDEN", 3: "NOT_FOUND",
    4: "INTERNAL_SERVER_ERROR", 5: "TIME_OUT", 6: "REQ_PARAM_ERROR", 7: "RESP_ERROR",
    8: "UNAUTHORIZED", 9: "BAD_REQUEST", 10: "NOT_ACCEPTABLE", 11: "UNSUPPORTED_CONTENT_FORMAT",
    12: "OFFLINE", 13: "ADDR_OCCUPIED",
}
ONENET_CONFIRM_CODES = {v: k for k, v in ONENET_CONFIRM_NAMES.items()}


def onenet_state(send_status: int, confirm_status: int | None) -> State:
    """The state of a OneNET cached command from its send and confirm status.

    Raises KeyError for a send_status or confirm_status outside the documented enums.
    """
    state = ONENET_SEND[send_status]
    if confirm_status is None:
        return state
    if confirm_status not in ONENET_CONFIRM_NAMES:
        raise KeyError(confirm_status)
    if confirm_status == 0:
        return State.SUCCEEDED
    if confirm_status == 5:
        return State.TIMEOUT
    return State.FAILED

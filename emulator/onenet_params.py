"""OneNET errors and the query/body checks of the cached-command endpoints (docs/platforms.md,
"OneNET: cached commands" and "OneNET: errors").

Request-level failures use the generic errno table (2 api-key required, 3 auth failed, 4 invalid
JSON, 6 invalid parameter, 8 not found, 15 rate limited), business outcomes the NB-IoT table
(5006 system logic limit: ranges, time order, the 10-command limit). Missing and malformed
parameters are both errno 6, so that errno 7 keeps the NB-IoT meaning "service internal error".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from emulator.validate import query_int, query_time
from platforms.formats import onenet_to_ms

KINDS = ("READ", "WRITE", "EXECUTE")
#: Largest write/execute body (2 KB).
MAX_BODY_BYTES = 2048


class OneNetError(Exception):
    """Raised by the OneNET emulation to answer `{"errno", "error"}` (HTTP 200 unless set)."""

    def __init__(self, errno: int, error: str, http_status: int = 200) -> None:
        super().__init__(f"{errno}: {error}")
        self.errno, self.error, self.http_status = errno, error, http_status

    def body(self) -> dict[str, Any]:
        return {"errno": self.errno, "error": self.error}


def invalid(detail: str) -> OneNetError:
    return OneNetError(6, f"invalid parameter: {detail}")


def not_found(detail: str) -> OneNetError:
    return OneNetError(8, f"not found: {detail}")


def required(args: Mapping[str, str], key: str) -> str:
    value = args.get(key)
    if not value:
        raise invalid(f"{key} is required")
    return value


def ranged(args: Mapping[str, str], key: str, default: int, lo: int, hi: int,
           limit_errno: int) -> int:
    """An int parameter; malformed is errno 6, out of [lo, hi] the logic-limit errno."""
    value = query_int(args, key, default, -(2**31), None, invalid)
    if not lo <= value <= hi:
        raise OneNetError(limit_errno, f"system logic limit: {key} must be in [{lo},{hi}]")
    return value


def parse_create(kind: str, args: Mapping[str, str], raw_body: bytes, now_ms: int,
                 limit_errno: int) -> dict[str, Any]:
    """The fields of a cached read/write/execute request."""
    imei = required(args, "imei")
    fields: dict[str, Any] = {"kind": kind, "imei": imei, "args": dict(args)}
    fields["obj_id"] = _int("obj_id", required(args, "obj_id"))
    inst = args.get("obj_inst_id") if kind == "READ" else required(args, "obj_inst_id")
    fields["obj_inst_id"] = _int("obj_inst_id", inst)
    res = args.get("res_id") if kind == "READ" else (
        required(args, "res_id") if kind == "EXECUTE" else None)
    fields["res_id"] = _int("res_id", res)
    if kind == "WRITE":
        fields["mode"] = ranged({"mode": required(args, "mode")}, "mode", 0, 1, 2, limit_errno)
    valid_ms = query_time(args, "valid_time", onenet_to_ms, invalid)
    if valid_ms is not None and valid_ms < now_ms - 999:
        raise OneNetError(limit_errno, "system logic limit: valid_time must be later than now")
    valid_ms = now_ms if valid_ms is None else valid_ms
    required(args, "expired_time")
    expired_ms = query_time(args, "expired_time", onenet_to_ms, invalid)
    if expired_ms <= valid_ms:
        raise OneNetError(limit_errno,
                          "system logic limit: expired_time must be later than valid_time")
    fields.update(valid_ms=valid_ms, expired_ms=expired_ms,
                  retry=ranged(args, "retry", 3, 0, 10, limit_errno),
                  timeout_s=ranged(args, "timeout", 25, 5, 40, limit_errno),
                  trigger_msg=ranged(args, "trigger_msg", 7, 1, 7, limit_errno),
                  content=_content(kind, raw_body, limit_errno))
    if kind == "READ" and args.get("bin2hex", "false").lower() not in ("true", "false"):
        raise invalid("bin2hex must be true or false")
    return fields


def _int(name: str, text: str | None) -> int | None:
    """A non-negative int parameter, or None when absent."""
    return query_int({name: text or ""}, name, None, 0, None, invalid)


def _content(kind: str, raw: bytes, limit_errno: int) -> dict[str, Any]:
    if kind == "READ" or (kind == "EXECUTE" and not raw.strip()):
        return {}
    if len(raw) > MAX_BODY_BYTES:
        raise OneNetError(limit_errno, "system logic limit: the body is over 2 KB")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise OneNetError(4, "invalid JSON") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    if kind == "EXECUTE":
        if "args" in body and not isinstance(body["args"], str):
            raise invalid("args must be a string")
        return body
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise invalid("data must be a non-empty list")
    for item in data:
        if not isinstance(item, dict) or isinstance(item.get("res_id"), bool) \
                or not isinstance(item.get("res_id"), int) or "val" not in item:
            raise invalid("each data item needs an int res_id and a val")
        if item.get("type") not in (None, 1, 2):
            raise invalid("data type must be 1 (Opaque) or 2 (Time)")
    return body


def parse_history(args: Mapping[str, str]) -> dict[str, Any]:
    """The filters of GET /nbiot/offline/history (docs/platforms.md, "OneNET: history")."""
    sort = args.get("sort", "DESC").upper()
    if sort not in ("ASC", "DESC"):
        raise invalid("sort must be ASC or DESC")
    return {
        "imei": required(args, "imei"),
        "start_ms": query_time({"start": required(args, "start")}, "start", onenet_to_ms,
                               invalid),
        "end_ms": query_time(args, "end", onenet_to_ms, invalid),
        "page": query_int(args, "page", 1, 1, None, invalid),
        "per_page": query_int(args, "per_page", 30, 1, 100, invalid),
        "sort": sort, "uuid": args.get("uuid") or None,
    }

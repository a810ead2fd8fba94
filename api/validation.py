"""Validation of `/api/v1` request bodies: a clear 400 naming the field, before anything runs."""

from __future__ import annotations

import json
from typing import Any

from store.model import PLATFORMS
from web.http import ApiError
from web.ids import check_id
from workers.create import CreateBody

#: Longest command lifetime accepted on create, in seconds (30 days).
MAX_EXPIRE_S = 30 * 24 * 3600
#: Huawei's default lifetime of a cached command (docs/platforms.md, "Huawei: commands").
DEFAULT_EXPIRE_S = 48 * 3600
ONENET_METHODS = ("READ", "WRITE", "EXECUTE")
#: IoTDA keeps a cached command at most two days, and takes `paras` of at most 32 KB
#: (docs/platforms.md, "IoTDA").
IOTDA_MAX_EXPIRE_S = 2 * 24 * 3600
IOTDA_MAX_PARAS_BYTES = 32 * 1024

#: What a missing `paras` is told, per platform.
PARAS_HINT = {
    "huawei": "paras is required: the command's parameters as a JSON object, as the device "
              "profile defines them ({} for a command that takes none)",
    "onenet": "paras is required: the LwM2M address and content of the command (READ: "
              "obj_id; WRITE: obj_id, obj_inst_id, mode, data; EXECUTE: obj_id, obj_inst_id, "
              "res_id)",
    "iotda": "paras is required: the command's parameters as a JSON object, as the product "
             "model defines them ({} for a command that takes none)",
}

_CREATE_FIELDS = {"platform", "device_id", "service_id", "method", "paras", "expire_in_s",
                  "stale_after_s"}


def _text(body: dict, name: str, max_len: int, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise ApiError(400, "bad_field", f"{name} must be a string of 1-{max_len} characters")
    return value


def _whole(body: dict, name: str, low: int, high: int, *, prefix: str = "") -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, "bad_field",
                       f"{prefix}{name} must be a whole number from {low} to {high}")
    return value


def _onenet_paras(method: str, paras: dict[str, Any]) -> None:
    """The LwM2M address and content each OneNET command kind needs (docs/platforms.md,
    "OneNET: cached commands")."""
    required = {"READ": ["obj_id"], "WRITE": ["obj_id", "obj_inst_id", "mode", "data"],
                "EXECUTE": ["obj_id", "obj_inst_id", "res_id"]}[method]
    for name in required:
        if paras.get(name) is None:
            raise ApiError(400, "bad_field", f"paras.{name} is required for a OneNET {method}")
    for name in ("obj_id", "obj_inst_id", "res_id"):
        if name in paras and paras[name] is not None:
            _whole(paras, name, 0, 65535, prefix="paras.")
    if method == "WRITE":
        if paras["mode"] not in (1, 2) or isinstance(paras["mode"], bool):
            raise ApiError(400, "bad_field", "paras.mode must be 1 (replace) or 2 (partial)")
        if not isinstance(paras["data"], list) or not paras["data"] or not all(
                isinstance(d, dict) and "res_id" in d and "val" in d for d in paras["data"]):
            raise ApiError(400, "bad_field",
                           "paras.data must be a non-empty list of {res_id, val[, type]}")
    if "args" in paras and not isinstance(paras["args"], str):
        raise ApiError(400, "bad_field", "paras.args must be a string")


def parse_create(body: dict[str, Any]) -> CreateBody:
    unknown = sorted(set(body) - _CREATE_FIELDS)
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    platform = body.get("platform")
    if platform not in PLATFORMS:
        raise ApiError(400, "bad_field", f"platform must be one of {', '.join(PLATFORMS)}")
    if "paras" not in body:
        # never a silent {}: a command sent without the parameters its device expects fails
        # on the device, hours later, or not at all
        raise ApiError(400, "missing_field", PARAS_HINT.get(platform, PARAS_HINT["huawei"]))
    paras = body["paras"]
    if not isinstance(paras, dict):
        raise ApiError(400, "bad_field", "paras must be a JSON object")
    if platform == "onenet":
        method = body.get("method")
        if method not in ONENET_METHODS:
            raise ApiError(400, "bad_field", f"method must be one of {', '.join(ONENET_METHODS)}")
        service_id = _text(body, "service_id", 64, required=False)
        _onenet_paras(method, paras)
    else:
        method = _text(body, "method", 128)
        service_id = _text(body, "service_id", 64)
    if platform == "iotda" and len(json.dumps(paras, separators=(",", ":")).encode()) \
            > IOTDA_MAX_PARAS_BYTES:
        raise ApiError(400, "bad_field", "paras must be at most 32 KB as JSON for IoTDA")
    # OneNET needs an expiry later than now and IoTDA reads 0 as 24 hours; Huawei's 0 means
    # "deliver now or fail"
    expire = _whole(body, "expire_in_s", 0 if platform == "huawei" else 1,
                    IOTDA_MAX_EXPIRE_S if platform == "iotda" else MAX_EXPIRE_S)
    return CreateBody(
        platform=platform,
        device_id=check_id(body.get("device_id"), "device_id"),
        service_id=service_id,
        method=method,
        paras=paras,
        expire_in_s=DEFAULT_EXPIRE_S if expire is None else expire,
        stale_after_s=_whole(body, "stale_after_s", 1, MAX_EXPIRE_S),
    )


def parse_revoke(body: dict[str, Any]) -> bool:
    """The `only_stale` flag of a revoke request (default true)."""
    unknown = sorted(set(body) - {"only_stale"})
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    only_stale = body.get("only_stale", True)
    if not isinstance(only_stale, bool):
        raise ApiError(400, "bad_field", "only_stale must be true or false")
    return only_stale

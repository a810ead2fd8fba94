"""The create bodies of the OpenAPI description (api/openapi.py), one schema per platform and
OneNET method, from the limits api/validation.py checks."""

from __future__ import annotations

from typing import Any

from api.validation import (
    DEFAULT_EXPIRE_S,
    IOTDA_MAX_EXPIRE_S,
    IOTDA_MAX_PARAS_BYTES,
    MAX_EXPIRE_S,
    ONENET_METHODS,
)
from web.ids import ID_PATTERN

_ID = {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"}
_SECONDS = {"type": "integer", "maximum": MAX_EXPIRE_S}
_LWM2M_ID = {"type": "integer", "minimum": 0, "maximum": 65535}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def create_schemas() -> dict[str, Any]:
    common = {
        "device_id": {**_ID, "description": "the platform's device id (OneNET: the IMEI)"},
        "service_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "stale_after_s": {**_SECONDS, "minimum": 1, "nullable": True, "description":
                          "revoke when still PENDING this long after creation "
                          "(null or absent: STALE_AFTER_S)"},
    }
    expire = f"lifetime on the platform (null or absent: {DEFAULT_EXPIRE_S})"
    huawei = {
        "type": "object", "additionalProperties": False,
        "required": ["platform", "device_id", "service_id", "method", "paras"],
        "properties": {
            "platform": {"type": "string", "enum": ["huawei"]}, **common,
            "method": {"type": "string", "minLength": 1, "maxLength": 128},
            "paras": {"type": "object", "description": "the command's parameters, as the "
                                                       "device profile defines them ({} for "
                                                       "none)"},
            "expire_in_s": {**_SECONDS, "minimum": 0, "nullable": True,
                            "description": expire + "; 0: deliver now or fail"},
        },
    }
    required = {"READ": ["obj_id"], "WRITE": ["obj_id", "obj_inst_id", "mode", "data"],
                "EXECUTE": ["obj_id", "obj_inst_id", "res_id"]}
    onenet = {
        f"OneNetCreate{method.title()}": {
            "type": "object", "additionalProperties": False,
            "required": ["platform", "device_id", "method", "paras"],
            "properties": {
                "platform": {"type": "string", "enum": ["onenet"]}, **common,
                "method": {"type": "string", "enum": [method]},
                "paras": {"allOf": [_ref("OneNetParas"), {"required": required[method]}]},
                "service_id": _nullable(common["service_id"]),
                "expire_in_s": {**_SECONDS, "minimum": 1, "nullable": True,
                                "description": expire},
            },
        }
        for method in ONENET_METHODS
    }
    iotda = {
        "type": "object", "additionalProperties": False,
        "required": ["platform", "device_id", "service_id", "method", "paras"],
        "description": "IoTDA v5: sent to the platform only when the device has room in the "
                       "hold-back queue (IOTDA_IN_FLIGHT_PER_DEVICE), else recorded with "
                       "platform_status HELD and no platform call",
        "properties": {
            "platform": {"type": "string", "enum": ["iotda"]}, **common,
            "method": {"type": "string", "minLength": 1, "maxLength": 128,
                       "description": "IoTDA's command_name"},
            "paras": {"type": "object", "description": f"the command's parameters, at most "
                                                       f"{IOTDA_MAX_PARAS_BYTES} bytes as JSON"},
            "expire_in_s": {"type": "integer", "minimum": 1, "maximum": IOTDA_MAX_EXPIRE_S,
                            "nullable": True, "description": expire + "; IoTDA is given the "
                            "time left until the command would be stale, if that is less"},
        },
    }
    return {
        "HuaweiCreate": huawei, "IotdaCreate": iotda, **onenet,
        "OneNetParas": {
            "type": "object", "description": "the LwM2M address and content of the command",
            "properties": {
                "obj_id": _LWM2M_ID, "obj_inst_id": _LWM2M_ID, "res_id": _LWM2M_ID,
                "mode": {"type": "integer", "enum": [1, 2],
                         "description": "WRITE: 1 replace, 2 partial"},
                "data": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["res_id", "val"],
                    "properties": {"res_id": _LWM2M_ID, "val": {}, "type": {}}}},
                "args": {"type": "string", "description": "EXECUTE arguments"},
            },
        },
        "CreateCommand": {"oneOf": [_ref("HuaweiCreate"), _ref("IotdaCreate"),
                                    *(_ref(name) for name in onenet)]},
    }

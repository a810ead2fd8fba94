"""The OpenAPI 3.0 description of the management API, served at `GET /api/v1/openapi.json`.

Built from the constants the code validates with (id pattern, limits, states, platforms), so the
description cannot drift from them. Like every `/api/v1` route it needs the bearer token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from api import openapi_feed, v1
from api.openapi_create import create_schemas
from store.model import PLATFORMS, Source, State
from web.ids import ID_PATTERN

bp = Blueprint("api_openapi", __name__, url_prefix="/api/v1")
bp.before_request(v1.authenticate)

OPENAPI_VERSION = "3.0.3"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


_ID = {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"}
_TIME = {"type": "string", "format": "date-time", "example": "2024-01-05T10:15:30.000Z"}


def _record_schemas() -> dict[str, Any]:
    states = [s.value for s in State]
    return {
        "TimelineEntry": {
            "type": "object", "additionalProperties": False,
            "required": ["state", "attempt", "at", "source", "platform_status", "applied"],
            "properties": {
                "state": _nullable({
                    "type": "string", "enum": [*states, None],  # null listed: enum restricts
                    "description": "null: a status cmdkeeper does not know (platform_status "
                                   "holds it as received); never applied, and the device's "
                                   "history is re-checked"}),
                "attempt": {"type": "integer", "description": "retries used (OneNET)"},
                "at": _TIME,
                "source": {"type": "string", "enum": [s.value for s in Source]},
                "platform_status": {"type": "string"},
                "applied": {"type": "boolean",
                            "description": "false: late, duplicate or an unknown status; did "
                                           "not move the state"},
            },
        },
        "PlatformError": {
            "type": "object", "description": "a permanent refusal kept on the command",
            "properties": {"platform": {"type": "string"}, "code": {"type": "string"},
                           "text": {"type": "string"},
                           "http_status": _nullable({"type": "integer"})},
        },
        "Record": {
            "type": "object", "additionalProperties": False,
            "required": ["platform", "command_id", "device_id", "service_id", "method", "paras",
                         "state", "platform_status", "created_at", "updated_at", "expire_at",
                         "stale_at", "replaces", "replaced_by", "platform_command_id",
                         "attempt", "origin", "timeline"],
            "properties": {
                "platform": {"type": "string", "enum": list(PLATFORMS)},
                "command_id": {"type": "string"}, "device_id": {"type": "string"},
                "service_id": _nullable({"type": "string"}),
                "method": _nullable({"type": "string"}),
                "paras": _nullable({"type": "object"}),
                "state": {"type": "string", "enum": states},
                "platform_status": _nullable({"type": "string",
                                              "description": "the platform's own status"}),
                **{name: _nullable(_TIME) for name in
                   ("created_at", "updated_at", "expire_at", "stale_at")},
                "replaces": _nullable({"type": "string"}),
                "replaced_by": _nullable({"type": "string"}),
                "platform_command_id": _nullable({
                    "type": "string", "description": "the id the platform knows the command "
                    "by: command_id, except for IoTDA commands created through cmdkeeper, whose "
                    "record cmdkeeper names; null while such a command is held back"}),
                "attempt": {"type": "integer"},
                "origin": _nullable({"type": "string", "enum": ["api", "unknown"],
                                     "description": "unknown: first seen in a callback"}),
                "error": _ref("PlatformError"),
                "revoke_requested_by": {
                    "type": "string", "enum": ["clock", "api", "cli", "dashboard"],
                    "description": "of a command a revocation cancelled: who asked for it "
                                   "(clock: the sweep, as it went stale)"},
                "timeline": {"type": "array", "items": _ref("TimelineEntry")},
            },
        },
        "Error": {
            "type": "object", "additionalProperties": False, "required": ["error"],
            "properties": {"error": {
                "type": "object", "additionalProperties": False, "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "platform_code": {"type": "string", "description":
                                                 "the platform's own error code"}}}},
        },
        "Accepted": {
            "type": "object", "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["accepted"]},
                           "only_stale": {"type": "boolean"}},
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": _json(_ref("Error"))}
    if retry_after:
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                             "description": "seconds"}}
    return answer


_ERRORS = {
    "400": _error("bad input, or the platform is not configured; the message names the field"),
    "401": _error("missing or wrong bearer token"),
    "404": _error("unknown platform, command or device"),
    "410": _error("the events asked for are no longer kept"),
    "413": _error("body over 64 KiB"),
    "422": _error("the platform refused the command (`error.platform_code`)"),
    "502": _error("the platform is unavailable"),
    "503": _error("state storage unavailable, no call budget left, or the device is busy",
                  retry_after=True),
}


def _errors(*codes: str) -> dict[str, Any]:
    """The error answers of an /api/v1 route: those every route has, and `codes`."""
    return {code: _ERRORS[code] for code in ("400", "401", "404", *codes, "503")}


#: Examples (the demo's devices, README "The demo"): schemathesis sends them first.
EXAMPLE_DEVICE = "demo-valve-1"
EXAMPLE_COMMAND = "5c0e4d2f9a8b4c6d8e7f60a1b2c3d4e5"
EXAMPLE_CREATE = {"platform": "huawei", "device_id": EXAMPLE_DEVICE, "service_id": "Valve",
                  "method": "SET", "paras": {"open": 1}}


def _path_param(name: str, description: str, example: str) -> dict[str, Any]:
    schema = {"type": "string", "enum": list(PLATFORMS)} if name == "platform" else _ID
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description, "example": example}


_PLATFORM = _path_param("platform", "huawei, onenet or iotda", "huawei")
_DEVICE = _path_param("device_id", "the platform's device id (OneNET: the IMEI)",
                      EXAMPLE_DEVICE)


def spec() -> dict[str, Any]:
    """The whole OpenAPI document."""
    record = {"description": "the command's record", "content": _json(_ref("Record"))}
    accepted = {"description": "queued for a worker", "content": _json(_ref("Accepted"))}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "cmdkeeper management API", "version": "1",
                 "description": "Commands to sleeping NB-IoT devices through Huawei OceanConnect"
                                ", Huawei IoTDA v5 and OneNET: create, read, revoke, reconcile. "
                                "Times are ISO 8601 UTC. Errors are {\"error\": {\"code\", "
                                "\"message\"}}."},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/commands": {"post": {
                "summary": "Create a command on the platform, then record it",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("CreateCommand"), "example": EXAMPLE_CREATE}}},
                "responses": {"201": record, **_errors("413", "422", "502")},
            }},
            "/api/v1/commands/{platform}/{command_id}": {"get": {
                "summary": "A command's record with its timeline",
                "parameters": [_PLATFORM, _path_param("command_id", "the platform's id",
                                                       EXAMPLE_COMMAND)],
                "responses": {"200": record, **_errors()},
            }},
            "/api/v1/devices/{platform}/{device_id}/commands": {"get": {
                "summary": "A device's commands, newest first",
                "parameters": [
                    _PLATFORM, _DEVICE,
                    {"name": "state", "in": "query", "schema": {
                        "type": "string", "enum": [s.value for s in State]},
                     "description": "only commands in this state (any letter case)"},
                    {"name": "limit", "in": "query", "schema": {
                        "type": "integer", "minimum": 1, "maximum": v1.MAX_LIMIT,
                        "default": 100}},
                ],
                "responses": {"200": {"description": "the commands", "content": _json({
                    "type": "object", "required": ["items"], "additionalProperties": False,
                    "properties": {"items": {"type": "array", "items": _ref("Record")}}})},
                    **_errors()},
            }},
            "/api/v1/devices/{platform}/{device_id}/revoke": {"post": {
                "summary": "Revoke the device's stale (or all) PENDING commands (404 "
                           "unknown_device: cmdkeeper holds no command of it)",
                "parameters": [_PLATFORM, _DEVICE],
                "requestBody": {"required": False, "content": _json({
                    "type": "object", "additionalProperties": False,
                    "properties": {"only_stale": {"type": "boolean", "default": True}}})},
                "responses": {"202": accepted, **_errors("413")},
            }},
            "/api/v1/devices/{platform}/{device_id}/reconcile": {"post": {
                "summary": "Re-query the device's command history and apply it (404 "
                           "unknown_device: cmdkeeper holds no command of it)",
                "parameters": [_PLATFORM, _DEVICE],
                "responses": {"202": accepted, **_errors()},
            }},
            **openapi_feed.paths(_errors, {"description": "accepted", "content": _json({
                "type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": ["accepted"]},
                    "since": _TIME}})}),
            "/api/v1/openapi.json": {"get": {
                "summary": "This description",
                "responses": {"200": {"description": "OpenAPI 3.0",
                                      "content": _json({"type": "object"})},
                              "401": _ERRORS["401"]},
            }},
            "/healthz": {"get": {
                "summary": "Whether Redis answers", "security": [],
                "responses": {
                    "200": {"description": "up", "content": _json({
                        "type": "object", "properties": {"status": {"enum": ["ok"]}}})},
                    "503": {"description": "Redis does not answer", "content": _json({
                        "type": "object", "properties": {
                            "status": {"enum": ["unavailable"]}, "redis": {"type": "string"}}})},
                },
            }},
        },
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "CMDKEEPER_API_TOKEN; every /api/v1 route needs it"}},
            "schemas": {**create_schemas(), **_record_schemas(), **openapi_feed.schemas()},
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(spec())

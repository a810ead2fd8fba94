"""The OpenAPI description of the change feed and the subscriptions (api/events.py,
api/subscriptions.py), merged into api/openapi.py's document."""

from __future__ import annotations

from typing import Any

from api import events
from api.subscriptions import MAX_DESCRIPTION
from store.feed import EVENT_ID, EVENT_TYPE
from store.model import PLATFORMS, Source, State

_TIME = {"type": "string", "format": "date-time", "example": "2024-01-05T10:15:30.000Z"}
_EVENT_ID = {"type": "string", "pattern": f"^{EVENT_ID.pattern}$", "example": "1733050000000-0"}
_SUB_ID = {"name": "sub_id", "in": "path", "required": True,
           "schema": {"type": "string", "minLength": 1, "maxLength": 64},
           "example": "sub_0123456789abcdef"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def schemas() -> dict[str, Any]:
    states = [s.value for s in State]
    subscription = {
        "id": {"type": "string"}, "url": {"type": "string"},
        "description": {"type": "string"},
        "platforms": {"type": "array", "items": {"type": "string", "enum": list(PLATFORMS)}},
        "created_at": _TIME, "enabled": {"type": "boolean"},
        "cursor": {**_EVENT_ID, "description": "the last event it took"},
        "delivered": {"type": "integer"}, "backlog": _nullable({"type": "integer"}),
        **{name: _nullable(_TIME) for name in
           ("last_delivered_at", "failing_since", "next_attempt_at", "disabled_at")},
        "attempts": {"type": "integer"}, "last_error": _nullable({"type": "string"}),
        "disabled_reason": _nullable({"type": "string"}),
    }
    return {
        "Event": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "type", "platform", "device_id", "command_id", "state",
                         "previous_state", "platform_status", "source", "origin", "attempt",
                         "at"],
            "properties": {
                "id": _EVENT_ID, "type": {"type": "string", "enum": [EVENT_TYPE]},
                "platform": {"type": "string", "enum": list(PLATFORMS)},
                "device_id": {"type": "string"}, "command_id": {"type": "string"},
                "state": {"type": "string", "enum": states},
                "previous_state": _nullable({"type": "string", "enum": states,
                                             "description": "null when the command was "
                                                            "created"}),
                "platform_status": {"type": "string"},
                "source": {"type": "string", "enum": [s.value for s in Source]},
                "origin": _nullable({"type": "string", "enum": ["api", "unknown"]}),
                "attempt": {"type": "integer"}, "at": _TIME,
            },
        },
        "Subscription": {"type": "object", "additionalProperties": False,
                         "required": list(subscription), "properties": subscription},
        "NewSubscription": {"type": "object", "additionalProperties": False,
                            "required": [*subscription, "secret"],
                            "properties": {**subscription, "secret": {
                                "type": "string", "pattern": "^whsec_",
                                "description": "shown now and on rotate-secret only"}}},
    }


def paths(errors, accepted: dict[str, Any]) -> dict[str, Any]:
    """The paths; `errors(*codes)` builds the error answers as the rest of the API has them."""
    subscription = {"description": "the subscription", "content": _json(_ref("Subscription"))}
    with_secret = {"description": "the subscription with its secret",
                   "content": _json(_ref("NewSubscription"))}
    return {
        "/api/v1/events": {"get": {
            "summary": "The change feed: every change of a command's state, oldest first",
            "parameters": [
                {"name": "after", "in": "query", "schema": _EVENT_ID,
                 "description": "the `next` of the previous page (absent: the oldest kept)"},
                {"name": "limit", "in": "query", "schema": {
                    "type": "integer", "minimum": 1, "maximum": events.MAX_LIMIT,
                    "default": events.DEFAULT_LIMIT}},
                {"name": "wait_s", "in": "query", "schema": {
                    "type": "integer", "minimum": 0, "maximum": events.MAX_WAIT_S,
                    "default": 0}, "description": "wait this long for an event when none "
                                                  "is there yet"},
            ],
            "responses": {
                "200": {"description": "events", "content": _json({
                    "type": "object", "additionalProperties": False,
                    "required": ["items", "next"],
                    "properties": {"items": {"type": "array", "items": _ref("Event")},
                                   "next": _EVENT_ID}})},
                **errors("410"),
            },
        }},
        "/api/v1/subscriptions": {
            "post": {
                "summary": "Subscribe a URL to the change feed (Standard Webhooks)",
                "requestBody": {"required": True, "content": _json({
                    "type": "object", "additionalProperties": False, "required": ["url"],
                    "properties": {
                        "url": {"type": "string", "example": "https://app.example.com/hooks"},
                        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
                        "platforms": {"type": "array", "uniqueItems": True, "items": {
                            "type": "string", "enum": list(PLATFORMS)}}}})},
                "responses": {"201": with_secret, **errors("413")},
            },
            "get": {
                "summary": "Every subscription, with its health",
                "responses": {"200": {"description": "the subscriptions", "content": _json({
                    "type": "object", "additionalProperties": False, "required": ["items"],
                    "properties": {"items": {"type": "array",
                                             "items": _ref("Subscription")}}})},
                              **errors()},
            },
        },
        "/api/v1/subscriptions/{sub_id}": {
            "get": {"summary": "One subscription", "parameters": [_SUB_ID],
                    "responses": {"200": subscription, **errors()}},
            "delete": {"summary": "Remove a subscription", "parameters": [_SUB_ID],
                       "responses": {"204": {"description": "removed"}, **errors()}},
        },
        "/api/v1/subscriptions/{sub_id}/rotate-secret": {"post": {
            "summary": "A new secret (the old one still signs for 24 h)",
            "parameters": [_SUB_ID], "responses": {"200": with_secret, **errors()}}},
        "/api/v1/subscriptions/{sub_id}/replay": {"post": {
            "summary": "Send again every kept event since a time", "parameters": [_SUB_ID],
            "requestBody": {"required": True, "content": _json({
                "type": "object", "additionalProperties": False, "required": ["since"],
                "properties": {"since": _TIME}})},
            "responses": {"202": accepted, **errors("413")}}},
        "/api/v1/subscriptions/{sub_id}/enable": {"post": {
            "summary": "Deliver again from where it stopped", "parameters": [_SUB_ID],
            "responses": {"200": subscription, **errors()}}},
    }

"""`/api/v1/subscriptions`: outbound webhooks in the Standard Webhooks format.

A subscription gets every change of state from the change feed, from its creation on, as one
signed POST per event (workers/notify.py delivers; the web never sends). Its secret is shown
when it is created and when it is rotated, never again. A subscriber URL must be https and
public unless NOTIFY_ALLOW_INSECURE=1 (notify/urls.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request

from api import v1
from cmdkeeper.clock import ms_to_iso
from notify import urls
from store.model import PLATFORMS
from store.subscriptions import Subscription, SubscriptionStore, backlog, public_json
from web.http import ApiError, read_json_object
from web.services import services

bp = Blueprint("api_subscriptions", __name__, url_prefix="/api/v1")
bp.before_request(v1.authenticate)

MAX_DESCRIPTION = 200
_CREATE_FIELDS = {"url", "description", "platforms"}


def _store() -> SubscriptionStore:
    return SubscriptionStore(services().store.client)


def _found(sub: Subscription | None, sub_id: str) -> Subscription:
    if sub is None:
        raise ApiError(404, "not_found", f"no subscription {sub_id}")
    return sub


def _json(sub: Subscription, **extra: Any) -> dict[str, Any]:
    return {**public_json(sub, backlog(services().store.client).get(sub.id)), **extra}


def parse_create(body: dict[str, Any], *, allow_insecure: bool) -> tuple[str, str, list[str]]:
    """(url, description, platforms) of a create request; a 400 naming the problem."""
    unknown = sorted(set(body) - _CREATE_FIELDS)
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    try:
        url = urls.check(body.get("url"), allow_insecure=allow_insecure)
    except urls.RefusedUrl as e:
        raise ApiError(400, "bad_url", str(e)) from None
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ApiError(400, "bad_field",
                       f"description must be a string of at most {MAX_DESCRIPTION} characters")
    platforms = body.get("platforms", [])
    if not isinstance(platforms, list) or not all(p in PLATFORMS for p in platforms) \
            or len(set(platforms)) != len(platforms):
        raise ApiError(400, "bad_field", f"platforms must be a list of distinct platforms "
                                         f"among {', '.join(PLATFORMS)} (empty: all)")
    return url, description, platforms


@bp.post("/subscriptions")
def create():
    svc = services()
    url, description, platforms = parse_create(
        read_json_object(request), allow_insecure=svc.config.notify_allow_insecure)
    sub, secret = _store().create(url, svc.clock(), description=description,
                                  platforms=platforms)
    return _json(sub, secret=secret), 201


@bp.get("/subscriptions")
def list_all():
    client = services().store.client
    waiting = backlog(client)
    return {"items": [public_json(s, waiting.get(s.id)) for s in _store().list()]}


@bp.get("/subscriptions/<sub_id>")
def get(sub_id: str):
    return _json(_found(_store().get(sub_id), sub_id))


@bp.delete("/subscriptions/<sub_id>")
def delete(sub_id: str):
    if not _store().delete(sub_id):
        raise ApiError(404, "not_found", f"no subscription {sub_id}")
    return "", 204


@bp.post("/subscriptions/<sub_id>/rotate-secret")
def rotate_secret(sub_id: str):
    store = _store()
    secret = store.rotate_secret(sub_id, services().clock())
    sub = _found(store.get(sub_id) if secret else None, sub_id)
    return _json(sub, secret=secret)


def _since_ms(body: dict[str, Any]) -> int:
    unknown = sorted(set(body) - {"since"})
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    raw = body.get("since")
    try:
        since = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise ApiError(400, "bad_field", "since must be an ISO 8601 time with its time zone, "
                                         "e.g. 2026-12-01T10:00:00Z")
    return int(since.timestamp() * 1000)


@bp.post("/subscriptions/<sub_id>/replay")
def replay(sub_id: str):
    since_ms = _since_ms(read_json_object(request))
    if not _store().replay(sub_id, since_ms):
        raise ApiError(404, "not_found", f"no subscription {sub_id}")
    return {"status": "accepted", "since": ms_to_iso(since_ms)}, 202


@bp.post("/subscriptions/<sub_id>/enable")
def enable(sub_id: str):
    store = _store()
    if not store.enable(sub_id):
        raise ApiError(404, "not_found", f"no subscription {sub_id}")
    return _json(_found(store.get(sub_id), sub_id))

"""`GET /healthz`: 200 when Redis answers, 503 when it does not."""

from __future__ import annotations

import redis
from flask import Blueprint

from web.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        services().store.ping()
    except redis.RedisError as e:
        return {"status": "unavailable", "redis": type(e).__name__}, 503
    return {"status": "ok"}, 200

"""Counting webhook requests as they are answered: a Flask `after_request` hook per blueprint.

Every callback request is counted (`cmdkeeper_callbacks_received_total`), and those answered
with an error by the error code of their JSON answer (`cmdkeeper_callbacks_rejected_total`, and
a rate-limited WARNING: web/rejections.py). A callback answered 200 but not taken (a OneNET push
that failed its signature, ...) is counted by its view, with `rejections.count_rejected`.

The callback health guard counts what the platforms count against a receiver: every answer
that is not 200 (`cmdkeeper_callback_failures_total`, by status: Huawei takes even a 201 for a
failure), and every answer slower than a third of the platform's timeout
(`cmdkeeper_callback_slow_total`); the fleet page alarms on them well before the platform would
disable the callback URL (dashboard/health.py).
"""

from __future__ import annotations

import time

from flask import request

from cmdkeeper.metric_names import (
    CALLBACK_FAILURES,
    CALLBACK_SLOW,
    CALLBACK_SLOW_S,
    CALLBACKS_RECEIVED,
)
from web.rejections import count_rejected
from web.request_ids import STARTED_KEY


def callback_counter(platform: str):
    """A Flask `after_request` hook for a webhook blueprint: counts every callback request, and
    those answered with an error by their JSON error code, not with 200, or slowly."""

    def count(response):
        if request.method == "POST":
            CALLBACKS_RECEIVED.inc(platform=platform)
            if response.status_code != 200:
                CALLBACK_FAILURES.inc(platform=platform, status=response.status_code)
            started = request.environ.get(STARTED_KEY)
            if started is not None and time.monotonic() - started > CALLBACK_SLOW_S.get(
                    platform, 5.0):
                CALLBACK_SLOW.inc(platform=platform)
            if response.status_code >= 400:
                body = response.get_json(silent=True) or {}
                error = body.get("error") if isinstance(body, dict) else None
                code = error.get("code") if isinstance(error, dict) else None
                count_rejected(platform, code if isinstance(code, str) else "other")
        return response

    return count

"""Counting webhook requests as they are answered: a Flask `after_request` hook per blueprint.

Every callback request is counted (`cmdkeeper_callbacks_received_total`), and those answered
with an error by the error code of their JSON answer (`cmdkeeper_callbacks_rejected_total`, and
a rate-limited WARNING: web/rejections.py). A callback answered 200 but not taken (a OneNET push
that failed its signature, ...) is counted by its view, with `rejections.count_rejected`.
"""

from __future__ import annotations

from flask import request

from cmdkeeper.metric_names import CALLBACKS_RECEIVED
from web.rejections import count_rejected


def callback_counter(platform: str):
    """A Flask `after_request` hook for a webhook blueprint: counts every callback request, and
    those answered with an error by their JSON error code."""

    def count(response):
        if request.method == "POST":
            CALLBACKS_RECEIVED.inc(platform=platform)
            if response.status_code >= 400:
                body = response.get_json(silent=True) or {}
                error = body.get("error") if isinstance(body, dict) else None
                code = error.get("code") if isinstance(error, dict) else None
                count_rejected(platform, code if isinstance(code, str) else "other")
        return response

    return count

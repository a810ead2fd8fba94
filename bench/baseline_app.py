"""The two baselines `bench.ingest` measures the Huawei webhook against, served with the same
gunicorn settings on the same Redis (`gunicorn -c gunicorn.conf.py
'bench.baseline_app:create_app()'`).

- `POST /bare/<token>`: parse the JSON body, answer 200. The floor: Flask under gunicorn.
- `POST /naive/<token>`: parse the JSON body and `apply_event.send(...)` an event built from it,
  through dramatiq's own `RedisBroker.enqueue`. The obvious implementation, without validation,
  token check or dedupe.

Both answer `{"status": "accepted"}`, the same body as the webhook, so responses are alike.
"""

from __future__ import annotations

import time

from flask import Flask, request

from cmdkeeper.config import Config
from cmdkeeper.logs import setup_logging

#: The answer of both baselines (the webhook's answer for a new event).
ACCEPTED = {"status": "accepted"}


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    config.require("webhook_token")
    setup_logging(config)

    from workers import broker

    broker.configure(config)
    from workers.actors import apply_event  # declared on the configured broker

    app = Flask(__name__)
    app.json.sort_keys = False

    @app.post("/bare/<token>")
    def bare(token: str):
        request.get_json()
        return ACCEPTED, 200

    @app.post("/naive/<token>")
    def naive(token: str):
        body = request.get_json()
        status = body["result"]["resultCode"]
        apply_event.send(event={
            "platform": "huawei", "device_id": body["deviceId"], "command_id": body["commandId"],
            "state": status, "platform_status": status, "at_ms": time.time_ns() // 1_000_000,
            "source": "callback", "attempt": 0,
        })
        return ACCEPTED, 200

    return app

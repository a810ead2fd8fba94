"""The Flask app factory of the `web` process: `create_app(config=None)`.

`config=None` means `Config.from_env()`. Required secrets are checked here, at start-up, so a
misconfigured process fails before it serves anything. What the views use is built here once
(web/services.py: the store, the webhook sink of webhooks/sink.py, the platform gateways) and
each area is a blueprint: webhooks/, api/, dashboard/. The Huawei callbacks the webhook takes
are served just before Flask dispatches them (webhooks/huawei_fast.py: Flask's per-request
machinery cost them more CPU than their own work); every other request is Flask's.
"""

from __future__ import annotations

import logging

from flask import Flask

from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import MAX_BODY_BYTES, Config
from cmdkeeper.logs import setup_logging
from platforms.factory import build_gateways
from store import connection
from store.metrics_flush import start_flusher
from web import request_ids
from web.http import install_error_handlers
from web.services import PushVerifier, Services, install


def create_app(config: Config | None = None, *, clock: Clock = system_clock,
               iotda_push_verifier: PushVerifier | None = None) -> Flask:
    """The web app; `iotda_push_verifier` checks IoTDA push signatures (webhooks/iotda.py: the
    algorithm is not public, so none is built in and pushes are taken on their path token)."""
    config = config or Config.from_env()
    config.require("api_token", "webhook_token")
    setup_logging(config, role="web")

    from workers import broker

    broker.configure(config)
    # imported once the broker is configured: they bind the actors they send to it
    from webhooks.sink import build_sink
    from workers.runtime import command_store, define_env_subscription

    client = connection.client(connection.resolve_url(config))
    start_flusher(client, config.metrics_flush_s)
    warning = connection.unreachable_hint(config)
    if warning:
        logging.getLogger("cmdkeeper").warning(warning)
    define_env_subscription(client, config, clock)

    app = Flask(__name__)
    # `/api/v1//commands` is a JSON 404 like any unknown path, not an HTML redirect before auth
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    install(app, Services(
        config=config,
        store=command_store(client, config),
        sink=build_sink(config, client),
        clock=clock,
        gateways=build_gateways(config, client, clock),
        iotda_push_verifier=iotda_push_verifier,
    ))
    install_error_handlers(app)
    from webhooks import huawei_fast

    huawei_fast.install(app)  # before the request ids: every answer carries one
    request_ids.install(app)

    from api import events, health, metrics, openapi, subscriptions, v1
    from dashboard import views as dashboard
    from webhooks import huawei, iotda, onenet

    app.register_blueprint(huawei.bp)
    app.register_blueprint(onenet.bp)
    app.register_blueprint(iotda.bp)
    app.register_blueprint(v1.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(dashboard.bp)
    return app

"""The Flask app factory of the `web` process: `create_app(config=None)`.

`config=None` means `Config.from_env()`. Required secrets are checked here, at start-up, so a
misconfigured process fails before it serves anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask

from cmdkeeper.clock import Clock, system_clock
from cmdkeeper.config import MAX_BODY_BYTES, Config
from cmdkeeper.http import install_error_handlers
from cmdkeeper.logs import setup_logging
from cmdkeeper.metrics import start_flusher
from cmdkeeper.request_ids import install as install_request_ids
from platforms.factory import build_gateways
from platforms.gateway import Gateway
from store import connection
from store.commands import CommandStore
from store.ingest import IngestStore
from webhooks.sink import EventSink, PublishingSink


@dataclass(frozen=True)
class Services:
    """What the views need, built once per process and kept in `app.extensions`."""

    config: Config
    store: CommandStore
    sink: EventSink | PublishingSink
    clock: Clock
    gateways: dict[str, Gateway]


def create_app(config: Config | None = None, *, clock: Clock = system_clock) -> Flask:
    config = config or Config.from_env()
    config.require("api_token", "webhook_token")
    setup_logging(config, role="web")

    from workers import broker

    broker.configure(config)
    from workers import messages  # imported after the broker is configured

    client = connection.client(connection.resolve_url(config))
    start_flusher(client, config.metrics_flush_s)
    if warning := connection.check_compact_hashes(client):
        logging.getLogger("cmdkeeper").warning(warning)
    ingest = IngestStore(
        client,
        namespace=broker.NAMESPACE,
        queue_name=messages.apply_event_queue(),
        dedupe_ttl_s=config.dedupe_ttl_s,
    )
    services = Services(
        config=config,
        store=CommandStore(client, reconcile_after_s=config.reconcile_after_s),
        sink=PublishingSink(ingest, messages.publish_apply_event) if broker.uses_rabbitmq()
        else EventSink(ingest, messages.encode_apply_event),
        clock=clock,
        gateways=build_gateways(config, client, clock),
    )

    app = Flask(__name__)
    # `/api/v1//commands` is a JSON 404 like any unknown path, not an HTML redirect before auth
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["cmdkeeper"] = services
    install_error_handlers(app)
    install_request_ids(app)

    from api import health, metrics, openapi, v1
    from dashboard import views as dashboard
    from webhooks import huawei, onenet

    app.register_blueprint(huawei.bp)
    app.register_blueprint(onenet.bp)
    app.register_blueprint(v1.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(dashboard.bp)
    return app

"""The emulator's Flask app: the platforms, the control API, and the log of every API call."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request

from emulator import control, huawei, iotda, onenet, snapshot
from emulator.settings import Settings, from_env
from emulator.world import Emulator
from web.http import install_error_handlers

#: Blueprints whose calls are platform API calls (logged, rate-limited).
PLATFORM_BLUEPRINTS = ("huawei", "onenet", "iotda")


def create_emulator_app(settings: Settings | None = None, *, start_threads: bool = True) -> Flask:
    """The app; `settings=None` reads the environment. The emulator is `app.extensions["emulator"]`.

    `start_threads=False` leaves the ticker and the delivery sender stopped (for unit tests).
    """
    settings = settings or from_env()
    app = Flask("emulator")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.json.sort_keys = False
    emulator = Emulator(settings)
    if settings.state_file:
        snapshot.restore(emulator, Path(settings.state_file))
    app.extensions["emulator"] = emulator
    install_error_handlers(app)
    app.register_blueprint(huawei.bp)
    app.register_blueprint(onenet.bp)
    app.register_blueprint(iotda.bp)
    app.register_blueprint(control.bp)

    @app.after_request
    def _log_call(response):
        if request.blueprint in PLATFORM_BLUEPRINTS:
            with emulator.lock:
                emulator.calls.record(
                    at_ms=g.get("at_ms", emulator.engine.now_ms), platform=request.blueprint,
                    app=g.get("app"), method=request.method, path=request.path,
                    query=request.query_string.decode("latin-1"), status=response.status_code,
                    error_code=g.get("error_code"))
        return response

    @app.get("/")
    def index():
        return {"emulator": "cmdkeeper platform emulator", "huawei": "/iocm/app/...",
                "onenet": "/nbiot/...", "iotda": "/v5/iot/{project_id}/devices/...",
                "control": "/_emulator/status"}

    if start_threads:
        emulator.start()
    return app

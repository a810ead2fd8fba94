"""Serving the emulator: gunicorn in-process, one worker, `header_map = dangerous`.

Werkzeug's development server and gunicorn's default drop request headers whose names contain
`_` (docs/platforms.md, "Huawei: authentication"), so Huawei's `app_key` would never arrive. This
server keeps them. One worker
process, because the emulator's state lives in memory; threads serve concurrent clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from emulator.settings import Settings


class EmulatorServer(BaseApplication):
    """A gunicorn application that builds the emulator app in its worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__(prog="python -m emulator")

    def options(self) -> dict[str, Any]:
        s = self.settings
        options: dict[str, Any] = {
            "bind": f"{s.host}:{s.port}", "workers": 1, "worker_class": "gthread",
            "threads": s.threads, "header_map": "dangerous", "timeout": 120,
            "graceful_timeout": 5, "keepalive": 5, "errorlog": "-",
            "proc_name": "cmdkeeper-emulator",
            # gunicorn's control socket has one default path per user: two servers would clash.
            "control_socket_disable": True,
        }
        if s.access_log:
            options["accesslog"] = "-"
        if s.state_file:
            options["worker_exit"] = _save_state
        return options

    def load_config(self) -> None:
        for name, value in self.options().items():
            self.cfg.set(name, value)

    def load(self):
        from emulator.app import create_emulator_app

        return create_emulator_app(self.settings)


def _save_state(server: Any, worker: Any) -> None:
    """gunicorn's `worker_exit` hook: the worker (which holds the state) saves it as it goes."""
    from emulator import snapshot

    emulator = worker.wsgi.extensions["emulator"]
    path = Path(emulator.settings.state_file)
    try:
        snapshot.save(emulator, path)
        server.log.info("emulator: state saved to %s", path)
    except Exception as e:  # noqa: BLE001 - an exiting worker reports, it does not crash
        server.log.error("emulator: state not saved to %s: %s: %s", path, type(e).__name__, e)


def serve(settings: Settings) -> None:
    EmulatorServer(settings).run()

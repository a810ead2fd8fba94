"""gunicorn settings of the `web` process (Heroku conventions: PORT, WEB_CONCURRENCY).

Access logs stay off: request paths carry the Huawei webhook token.
"""

import os

# All interfaces, as a dyno needs; bin/run sets WEB_HOST=127.0.0.1 (its demo token is public).
bind = f"{os.environ.get('WEB_HOST') or '0.0.0.0'}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# The platforms give up on a slow callback (Huawei after 15 s, OneNET after 5 s).
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None
# gunicorn's own lines (master's too) as the app's: LOG_FORMAT, role, secrets scrubbed
logger_class = "web.gunicorn_logs.GunicornLogger"
# Each worker gets its own SO_REUSEPORT socket and the kernel spreads connections over them; with
# one shared socket, keep-alive clients (a platform's pusher) sometimes all land on one worker
# (seen in bench/ingest: half the throughput). Connections queued on a worker that restarts can
# be reset; the platforms retry them.
reuse_port = True
# Several gunicorns run side by side here (web, the emulator, benchmarks): a shared control
# socket path would make them collide, and nothing uses it.
control_socket_disable = True


def when_ready(server) -> None:
    # with reuse_port the master holds no socket, and gunicorn's own "Listening at:" names none
    server.log.info("web listening on http://%s", bind)

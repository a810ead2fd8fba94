"""The local runner behind `bin/run`: one per var directory, the embedded Redis, the demo's
settings, then every Procfile.dev process, stopped in order.

In order: take the run lock (dev/runlock.py: a second `bin/run` is refused with a message naming
the first), fill in the demo's settings where the environment sets none (dev/demo.py: every URL
derived from PORT and EMULATOR_PORT, the web on 127.0.0.1), check that the ports are free, start
the embedded Redis when REDIS_URL is unset, write `var/demo.env` for the CLI, start the processes
(dev/supervisor.py), and say where the dashboard is once it answers. Ctrl-C (or SIGTERM) stops
web, worker and clock, then the emulator, then Redis. Production reads its settings from the
environment alone (Procfile).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import requests

from cmdkeeper.config import Config, ConfigError
from dev import demo, embedded_redis
from dev.procs import ROOT, wait_until
from dev.runlock import AlreadyRunning, RunLock, port_in_use
from dev.supervisor import Supervisor, read_procfile

PROCFILE = ROOT / "Procfile.dev"
#: How long the web may take to answer before the runner stops waiting to announce it.
READY_TIMEOUT_S = 60


def say(text: str) -> None:
    print(f"cmdkeeper: {text}", flush=True)


def dashboard_url(env: dict[str, str]) -> str:
    host = env["WEB_HOST"]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{env['PORT']}"


def _refusal(e: AlreadyRunning) -> str:
    holder = e.holder
    where = f" (pid {holder['pid']}, dashboard {holder.get('dashboard', '?')})" \
        if holder.get("pid") else ""
    return (f"bin/run is already running here{where}: stop it first (Ctrl-C in its terminal), "
            f"or give this one its own CMDKEEPER_VAR_DIR, PORT and EMULATOR_PORT. "
            f"Lock: {e.path}")


def _ports_taken(env: dict[str, str], names: list[str]) -> list[str]:
    taken = []
    if "web" in names and port_in_use(env["WEB_HOST"] or "0.0.0.0", int(env["PORT"])):
        taken.append(f"PORT={env['PORT']}")
    if "emulator" in names and port_in_use(env.get("EMULATOR_HOST") or "127.0.0.1",
                                           int(env["EMULATOR_PORT"])):
        taken.append(f"EMULATOR_PORT={env['EMULATOR_PORT']}")
    return taken


def _announce(url: str, token: str | None, stop: threading.Event) -> None:
    """Once the web answers, say where the dashboard is (and the token, when it is the demo's)."""
    session = requests.Session()
    session.trust_env = False
    try:
        wait_until(lambda: stop.is_set() or session.get(url + "/healthz", timeout=1).ok,
                   READY_TIMEOUT_S, "web")
    except Exception:  # noqa: BLE001 - the web's own lines say why it is not up
        return
    if not stop.is_set():
        shown = f"token {token}" if token else "sign in with your CMDKEEPER_API_TOKEN"
        say(f"dashboard: {url} — {shown}")


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    try:
        var_dir = Config.from_env(env).var_dir
    except ConfigError as e:
        say(str(e))
        return 4
    commands = read_procfile(PROCFILE)
    unknown = [n for n in argv if n not in commands]
    if unknown:
        say(f"no process {', '.join(unknown)} in Procfile.dev (it has {', '.join(commands)})")
        return 2
    if argv:
        commands = {n: c for n, c in commands.items() if n in argv}
    filled = demo.fill(env, var_dir)
    config = Config.from_env(env)
    url = dashboard_url(env)
    lock = RunLock(var_dir)
    try:
        lock.acquire({"dashboard": url})
    except AlreadyRunning as e:
        say(_refusal(e))
        return 1
    try:
        return _run(env, config, filled, commands, url)
    finally:
        demo.remove(var_dir)
        lock.release()


def _run(env: dict[str, str], config: Config, filled: list[str], commands: dict[str, str],
         url: str) -> int:
    taken = _ports_taken(env, list(commands))
    if taken:
        say(f"{' and '.join(taken)} already in use by another program: set "
            f"{' and '.join(t.split('=')[0] for t in taken)} to free port(s)")
        return 1
    started_redis = False
    if not config.redis_url:
        env["REDIS_URL"], started_redis = embedded_redis.ensure(config.var_dir)
        say(f"embedded Redis at {env['REDIS_URL']} (data in {config.var_dir}/redis)")
    shown = [n for n in filled if n != "EMULATOR_DEVICES"]
    say("dev settings — " + ", ".join(f"{n}={env[n]}" for n in shown))
    path = demo.write(config.var_dir, env, filled, env["REDIS_URL"])
    say(f"the CLI (python -m cmdkeeper) finds these settings in {path} while this runs")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # Procfile commands (gunicorn, dramatiq, python) must resolve to this virtualenv's.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")

    supervisor = Supervisor(commands, env, ROOT)
    stop = threading.Event()
    asked = threading.Event()

    def on_signal(signum, frame) -> None:
        if asked.is_set():
            supervisor.hurry.set()  # a second Ctrl-C: kill what is still running
        asked.set()
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        supervisor.start()
        if "web" in commands:
            token = env["CMDKEEPER_API_TOKEN"] if "CMDKEEPER_API_TOKEN" in filled else None
            threading.Thread(target=_announce, args=(url, token, stop), daemon=True).start()
        while not stop.wait(0.2):
            if (exited := supervisor.first_exit()) is not None:
                say(f"{exited.name} exited with {exited.proc.returncode}; stopping the rest")
                code = exited.proc.returncode or 1
                break
        stop.set()
        say("stopping web, worker and clock, then the emulator, then Redis")
        supervisor.stop()
    finally:
        supervisor.stop(timeout_s=0)  # whatever is left if the runner itself failed
        if started_redis:
            embedded_redis.stop(config.var_dir)
            say("embedded Redis stopped")
        for s, handler in previous.items():
            signal.signal(s, handler)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

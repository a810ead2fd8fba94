"""The demo's settings: what `bin/run` fills in where the environment sets nothing, every URL
derived from the ports, and the file that lets the CLI find them.

Every address is derived from two ports, `PORT` (cmdkeeper's web, 5000) and `EMULATOR_PORT` (the
platform emulator, 8743), so moving either moves every URL that names it: the callback URL
Huawei is given (PUBLIC_URL), the OneNET push target, the platforms' base URLs. The web listens
on 127.0.0.1 unless WEB_HOST says otherwise: the demo's token is published.

The demo devices are chosen so that the README's tour holds every time, whatever the moment a
command is sent: the valve sleeps until it is woken (so a command to it always goes stale and is
revoked), the meter and the OneNET device wake more often than the stale period minus the time
a command takes, so a command to them is always delivered before it could go stale
(tests/dev/test_demo.py checks the arithmetic).

`bin/run` writes the settings it filled in to `<CMDKEEPER_VAR_DIR>/demo.env` (mode 0600, removed
when it stops) with the Redis it runs on; the CLI (cli/session.py) reads them when it talks to
that same Redis, so `python -m cmdkeeper revoke huawei demo-valve-1` works against the demo
without exporting anything. Only the demo's own published values are written there, never a
setting the developer gave.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

#: cmdkeeper's web port and the emulator's, when the environment does not say.
DEFAULT_PORT = "5000"
DEFAULT_EMULATOR_PORT = "8743"
#: What the demo's web listens on unless WEB_HOST says otherwise.
DEFAULT_WEB_HOST = "127.0.0.1"

#: The tour's policy: a command still undelivered after a minute is stale.
STALE_AFTER_S = 60
SWEEP_INTERVAL_S = 5

#: The demo devices (emulator/README.md, "Drive devices and the clock", for the settings).
DEVICES = (
    # asleep until woken (POST /_emulator/devices/huawei/demo-valve-1/wake): always revoked
    {"platform": "huawei", "device_id": "demo-valve-1", "wake_period_s": 0},
    # wakes every 20 s: a command to it is always delivered well within the stale minute
    {"platform": "huawei", "device_id": "demo-meter-2", "wake_period_s": 20},
    {"platform": "onenet", "device_id": "869975031234561", "wake_period_s": 30},
    # asleep until woken: a second command to it is held back by cmdkeeper, then revoked here
    {"platform": "iotda", "device_id": "demo-product_demo-lamp-3", "wake_period_s": 0},
)

#: Variables named in the file for the CLI, besides the settings.
REDIS_MARKER = "CMDKEEPER_DEMO_REDIS_URL"
FILE_NAME = "demo.env"


def defaults(env: Mapping[str, str], var_dir: Path) -> dict[str, str]:
    """The demo's settings for this environment (its ports and var directory)."""
    port = env.get("PORT") or DEFAULT_PORT
    emulator_port = env.get("EMULATOR_PORT") or DEFAULT_EMULATOR_PORT
    web = f"http://127.0.0.1:{port}"
    emulator = f"http://127.0.0.1:{emulator_port}"
    return {
        "CMDKEEPER_API_TOKEN": "dev-api-token",
        "CMDKEEPER_WEBHOOK_TOKEN": "dev-webhook-token",
        "PORT": port,
        "WEB_HOST": DEFAULT_WEB_HOST,
        "PUBLIC_URL": web,
        "SWEEP_INTERVAL_S": str(SWEEP_INTERVAL_S),
        "STALE_AFTER_S": str(STALE_AFTER_S),
        "RECONCILE_AFTER_S": "120",
        # a terminal is read by a person; production logs (JSON) are read by a log pipeline
        "LOG_FORMAT": "text",
        "HUAWEI_BASE_URL": emulator,
        "HUAWEI_APP_ID": "demo-app",
        "HUAWEI_SECRET": "demo-secret",
        "ONENET_BASE_URL": emulator,
        "ONENET_API_KEY": "demo-onenet-key",
        "ONENET_PUSH_TOKEN": "demo-push-token",
        "EMULATOR_PORT": emulator_port,
        "EMULATOR_ONENET_PUSH_URL": f"{web}/webhooks/onenet",
        "EMULATOR_ONENET_PUSH_TOKEN": "demo-push-token",
        # IoTDA v5: the emulator checks no signature unless EMULATOR_IOTDA_AK is set; its rule
        # engine pushes command statuses to cmdkeeper
        "IOTDA_ENDPOINT": emulator,
        "IOTDA_PROJECT_ID": "demo-project",
        "IOTDA_AK": "demo-ak",
        "IOTDA_SK": "demo-sk",
        "IOTDA_WEBHOOK_TOKEN": "dev-iotda-token",
        "EMULATOR_IOTDA_PUSH_URL": f"{web}/webhooks/iotda/dev-iotda-token",
        "EMULATOR_STATE_FILE": str(var_dir / "emulator" / "state.pickle"),
        "EMULATOR_DEVICES": json.dumps(list(DEVICES)),
    }


def fill(env: dict[str, str], var_dir: Path) -> list[str]:
    """Fill the demo's settings into `env` where it has none; the names filled in."""
    filled = []
    for name, value in defaults(env, var_dir).items():
        if not env.get(name):
            env[name] = value
            filled.append(name)
    return filled


#: Settings the CLI takes from the file (the emulator's own are of no use to it).
def _for_cli(name: str) -> bool:
    return not name.startswith("EMULATOR_") and name not in ("PORT", "WEB_HOST", "LOG_FORMAT")


def file_path(var_dir: Path) -> Path:
    return var_dir / FILE_NAME


def write(var_dir: Path, env: Mapping[str, str], filled: list[str], redis_url: str) -> Path:
    """Write the filled-in settings the CLI needs, with the Redis they belong to."""
    path = file_path(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by bin/run (dev/devserver.py) while it runs; removed when it stops.",
             f"{REDIS_MARKER}={redis_url}"]
    lines += [f"{name}={env[name]}" for name in filled if _for_cli(name)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def read(var_dir: Path) -> tuple[str, dict[str, str]] | None:
    """(the demo's Redis URL, its settings) from the file, None when bin/run is not running."""
    try:
        text = file_path(var_dir).read_text()
    except OSError:
        return None
    values = dict(line.split("=", 1) for line in text.splitlines()
                  if "=" in line and not line.startswith("#"))
    redis_url = values.pop(REDIS_MARKER, None)
    return (redis_url, values) if redis_url else None


def remove(var_dir: Path) -> None:
    try:
        file_path(var_dir).unlink()
    except FileNotFoundError:
        pass

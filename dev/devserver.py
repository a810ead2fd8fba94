"""The local runner behind `bin/run`: embedded Redis, dev settings, then every Procfile.dev process.

Dev settings (API and webhook tokens, a short sweep interval) apply only here and only where the
environment does not set them; they are printed so the demo can be followed. Production reads
its settings from the environment alone (Procfile).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cmdkeeper.config import Config
from dev import embedded_redis
from dev.procs import ROOT

#: Settings the demo needs and a production deployment must set itself: cmdkeeper pointed at
#: the emulator, which pushes OneNET messages back to cmdkeeper, and short policies so a stale
#: command is revoked within a minute or two on a device that sleeps ten minutes.
DEV_DEFAULTS = {
    "CMDKEEPER_API_TOKEN": "dev-api-token",
    "CMDKEEPER_WEBHOOK_TOKEN": "dev-webhook-token",
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "SWEEP_INTERVAL_S": "5",
    "STALE_AFTER_S": "60",
    "RECONCILE_AFTER_S": "120",
    # a terminal is read by a person; production logs (JSON) are read by a log pipeline
    "LOG_FORMAT": "text",
    "HUAWEI_BASE_URL": "http://127.0.0.1:8743",
    "HUAWEI_APP_ID": "demo-app",
    "HUAWEI_SECRET": "demo-secret",
    "ONENET_BASE_URL": "http://127.0.0.1:8743",
    "ONENET_API_KEY": "demo-onenet-key",
    "ONENET_PUSH_TOKEN": "demo-push-token",
    "EMULATOR_ONENET_PUSH_URL": "http://127.0.0.1:5000/webhooks/onenet",
    "EMULATOR_ONENET_PUSH_TOKEN": "demo-push-token",
    # IoTDA v5: the emulator checks no signature unless EMULATOR_IOTDA_AK is set, and its rule
    # engine pushes command statuses to cmdkeeper
    "IOTDA_ENDPOINT": "http://127.0.0.1:8743",
    "IOTDA_PROJECT_ID": "demo-project",
    "IOTDA_AK": "demo-ak",
    "IOTDA_SK": "demo-sk",
    "IOTDA_WEBHOOK_TOKEN": "dev-iotda-token",
    "EMULATOR_IOTDA_PUSH_URL": "http://127.0.0.1:5000/webhooks/iotda/dev-iotda-token",
    "EMULATOR_DEVICES": json.dumps([
        {"platform": "huawei", "device_id": "demo-valve-1", "wake_period_s": 600},
        {"platform": "huawei", "device_id": "demo-meter-2", "wake_period_s": 90},
        {"platform": "onenet", "device_id": "869975031234561", "wake_period_s": 600},
        {"platform": "iotda", "device_id": "demo-product_demo-lamp-3", "wake_period_s": 600},
    ]),
}


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    for name, value in DEV_DEFAULTS.items():
        env.setdefault(name, value)
    config = Config.from_env(env)
    started = False
    if not config.redis_url:
        env["REDIS_URL"], started = embedded_redis.ensure(config.var_dir)
        print(f"cmdkeeper: embedded Redis at {env['REDIS_URL']} (data in {config.var_dir}/redis)")
    print("cmdkeeper: dev settings —", ", ".join(
        f"{n}={env[n]}" for n in DEV_DEFAULTS if os.environ.get(n) is None))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # Procfile commands (gunicorn, dramatiq, python) must resolve to this virtualenv's.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    try:
        return subprocess.call(
            [sys.executable, "-m", "honcho", "-f", str(ROOT / "Procfile.dev"), "start", *argv],
            cwd=ROOT, env=env,
        )
    except KeyboardInterrupt:
        return 130
    finally:
        if started:
            embedded_redis.stop(config.var_dir)
            print("cmdkeeper: embedded Redis stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`python -m emulator`: serve the platform emulations (settings: EMULATOR_* and these flags)."""

from __future__ import annotations

import argparse
import sys

from emulator.faults import Faults
from emulator.server import serve
from emulator.settings import (
    Settings,
    SettingsError,
    check,
    from_env,
    parse_faults,
    parse_start,
)


def parse_args(argv: list[str], base: Settings) -> Settings:
    p = argparse.ArgumentParser(prog="python -m emulator", description=(
        "Local Huawei OceanConnect (iocm v1), Huawei IoTDA (v5) and OneNET NB-IoT emulator with "
        "sleepy devices and injectable faults. Every flag also has an EMULATOR_* variable."))
    p.add_argument("--host", help="bind address (EMULATOR_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (EMULATOR_PORT, default 8743)")
    p.add_argument("--seed", type=int, help="random seed (EMULATOR_SEED; default random)")
    p.add_argument("--speed", type=float,
                   help="emulated seconds per real second; 0 = manual only (EMULATOR_SPEED)")
    p.add_argument("--start", type=parse_start,
                   help="emulated start time, epoch ms or ISO 8601 (EMULATOR_START_MS)")
    p.add_argument("--faults", help='faults JSON, e.g. \'{"drop_p": 0.1}\' (EMULATOR_FAULTS)')
    p.add_argument("--huawei-app-id", help="EMULATOR_HUAWEI_APP_ID (default demo-app)")
    p.add_argument("--huawei-secret", help="EMULATOR_HUAWEI_SECRET (default demo-secret)")
    p.add_argument("--token-ttl", type=int, help="Huawei token TTL s (EMULATOR_TOKEN_TTL_S)")
    p.add_argument("--rate-limit", type=int,
                   help="Huawei calls per 60 s per app (EMULATOR_HUAWEI_RATE_LIMIT)")
    p.add_argument("--onenet-api-key", help="EMULATOR_ONENET_API_KEY (default demo-onenet-key)")
    p.add_argument("--onenet-push-url", help="EMULATOR_ONENET_PUSH_URL")
    p.add_argument("--onenet-push-token", help="EMULATOR_ONENET_PUSH_TOKEN")
    p.add_argument("--onenet-aes-key", help="EncodingAESKey (EMULATOR_ONENET_AES_KEY)")
    p.add_argument("--onenet-aes-block", type=int, choices=(16, 32),
                   help="AES padding block (EMULATOR_ONENET_AES_BLOCK)")
    p.add_argument("--iotda-ak", help="IoTDA access key: calls must be signed (EMULATOR_IOTDA_AK)")
    p.add_argument("--iotda-sk", help="IoTDA secret key (EMULATOR_IOTDA_SK)")
    p.add_argument("--iotda-project-id", help="EMULATOR_IOTDA_PROJECT_ID (default: any)")
    p.add_argument("--iotda-push-url", help="rule-engine push target (EMULATOR_IOTDA_PUSH_URL)")
    p.add_argument("--state-file",
                   help="save the state there on exit, resume from it at start "
                        "(EMULATOR_STATE_FILE)")
    p.add_argument("--access-log", action="store_true", default=None,
                   help="log every request (EMULATOR_ACCESS_LOG)")
    a = p.parse_args(argv)
    faults: Faults = base.faults
    if a.faults:
        faults = parse_faults(a.faults, faults, "--faults")
    fault_flags = {"token_ttl_s": a.token_ttl, "huawei_rate_limit": a.rate_limit}
    faults = faults.updated({k: v for k, v in fault_flags.items() if v is not None})
    return check(base.with_overrides(
        host=a.host, port=a.port, seed=a.seed, speed=a.speed, start_ms=a.start,
        huawei_app_id=a.huawei_app_id, huawei_secret=a.huawei_secret,
        onenet_api_key=a.onenet_api_key, onenet_push_url=a.onenet_push_url,
        onenet_push_token=a.onenet_push_token, onenet_aes_key=a.onenet_aes_key,
        onenet_aes_block=a.onenet_aes_block, iotda_ak=a.iotda_ak, iotda_sk=a.iotda_sk,
        iotda_project_id=a.iotda_project_id, iotda_push_url=a.iotda_push_url,
        access_log=a.access_log, state_file=a.state_file, faults=faults))


def banner(s: Settings) -> str:
    base = f"http://{s.host}:{s.port}"
    return (f"emulator: {base}  speed={s.speed} seed={'random' if s.seed is None else s.seed}\n"
            f"  Huawei  HUAWEI_BASE_URL={base} appId={s.huawei_app_id} "
            f"secret={s.huawei_secret}\n"
            f"  OneNET  ONENET_BASE_URL={base} api-key={s.onenet_api_key} "
            f"push={s.onenet_push_url or '(none; PUT /_emulator/onenet/push)'}\n"
            f"  IoTDA   IOTDA_ENDPOINT={base} project={s.iotda_project_id or '(any)'} "
            f"ak={s.iotda_ak or '(none: unsigned calls accepted)'} "
            f"push={s.iotda_push_url or '(none; PUT /_emulator/iotda/push)'}\n"
            f"  control {base}/_emulator/status"
            + (f"\n  state   {s.state_file} (kept across restarts)" if s.state_file else ""))


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_args(sys.argv[1:] if argv is None else argv, from_env())
    except (SettingsError, ValueError) as e:
        print(f"emulator: {e}", file=sys.stderr)
        return 2
    print(banner(settings), file=sys.stderr, flush=True)
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())

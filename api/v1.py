"""`/api/v1`: create, read and list commands; revoke and reconcile devices (bearer token on every
route)."""

from __future__ import annotations

from flask import Blueprint, request

from api.serialize import record_json
from api.validation import parse_create, parse_revoke
from cmdkeeper.clock import ms_to_iso
from platforms.errors import PlatformError, RateLimitTimeout, RetryableError, ThrottledError
from store import actions, retention
from store.model import PLATFORMS, State
from store.readers import device_known
from web.http import ApiError, bearer_token, error_response, read_json_object, tokens_match
from web.ids import check_id
from web.services import services
from workers import actors
from workers.create import DeviceBusy, create_command

#: Platform codes meaning the device does not exist on create (Huawei 100418; OneNET errno 8
#: "not found", which on a create can only be the IMEI; IoTDA IOTDA.014000, the emulator's
#: choice: docs/platforms.md, "IoTDA").
UNKNOWN_DEVICE_CODES = {("huawei", "100418"), ("onenet", "8"), ("iotda", "IOTDA.014000")}

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

#: Most commands one listing returns.
MAX_LIMIT = 1000


@bp.before_request
def authenticate():
    expected = services().config.api_token
    if not tokens_match(bearer_token(request), expected):
        raise ApiError(401, "unauthorized", "missing or wrong bearer token")


def _platform(platform: str) -> str:
    if platform not in PLATFORMS:
        raise ApiError(404, "unknown_platform", f"platform must be one of {', '.join(PLATFORMS)}")
    return platform


@bp.get("/commands/<platform>/<command_id>")
def get_command(platform: str, command_id: str):
    store = services().store
    record = store.get(_platform(platform), check_id(command_id, "command_id"))
    if record is None:
        removed = retention.removed_at(store.client, platform, command_id)
        if removed is not None:
            retain_s = services().config.retain_final_s
            raise ApiError(404, "not_found",
                           f"{platform} command {command_id} was removed at {ms_to_iso(removed)}, "
                           f"RETAIN_FINAL_S ({retain_s} s) after it became final; the change "
                           "feed and the subscriptions are where history is kept")
        raise ApiError(404, "not_found", f"no {platform} command {command_id}")
    return record_json(record)


@bp.get("/devices/<platform>/<device_id>/commands")
def device_commands(platform: str, device_id: str):
    store = services().store
    state = None
    if "state" in request.args:
        try:
            state = State(request.args["state"].upper())
        except ValueError:
            names = ", ".join(s.value for s in State)
            raise ApiError(400, "bad_state", f"state must be one of {names}") from None
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        raise ApiError(400, "bad_limit", "limit must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, "bad_limit", f"limit must be between 1 and {MAX_LIMIT}")
    records = store.device_commands(
        _platform(platform), check_id(device_id, "device_id"), state=state, limit=limit
    )
    return {"items": [record_json(r) for r in records]}


def _gateway(platform: str):
    gateways = services().gateways
    if platform not in gateways:
        raise ApiError(400, "platform_not_configured",
                       f"{platform} is not configured (set its *_BASE_URL, or IOTDA_ENDPOINT, "
                       "and credentials)")
    return gateways[platform]


def platform_error_response(e: PlatformError):
    """A platform's refusal or failure as a clear JSON error, with the platform's own code."""
    if isinstance(e, RateLimitTimeout | ThrottledError):
        status, code = 503, "rate_limited"
    elif isinstance(e, RetryableError):
        status, code = 502, "platform_unavailable"
    elif (e.platform, e.code) in UNKNOWN_DEVICE_CODES:
        status, code = 404, "unknown_device"
    else:
        status, code = 422, "platform_rejected"
    response = error_response(status, code, f"{e.platform} said: {e.text} ({e.code})",
                              platform_code=e.code)
    if status == 503:
        response.headers["Retry-After"] = "60"
    return response


@bp.post("/commands")
def create():
    svc = services()
    body = parse_create(read_json_object(request))
    gateway = _gateway(body.platform)
    try:
        result = create_command(svc.store, gateway, svc.config, body, svc.clock)
    except PlatformError as e:
        return platform_error_response(e)
    except DeviceBusy as e:
        response = error_response(503, "device_busy", f"{e}; try again shortly")
        response.headers["Retry-After"] = "5"
        return response
    if result.replaced:
        # superseded commands are stale now (IoTDA: only held ones, revoked in cmdkeeper)
        actors.revoke_device.send(body.platform, body.device_id, True)
    record = svc.store.get(body.platform, result.command_id)
    return record_json(record), 201


def _known_device(platform: str, device_id: str) -> str:
    """The device id, when cmdkeeper holds a command of it (404 `unknown_device` otherwise, as
    the CLI's exit code 3): a job for a device it never saw would do nothing, and say so
    nowhere."""
    device_id = check_id(device_id, "device_id")
    if not device_known(services().store.client, platform, device_id):
        raise ApiError(404, "unknown_device",
                       f"cmdkeeper holds no command of {platform} device {device_id}")
    return device_id


@bp.post("/devices/<platform>/<device_id>/revoke")
def revoke(platform: str, device_id: str):
    only_stale = parse_revoke(read_json_object(request) if request.get_data() else {})
    _gateway(_platform(platform))
    device_id = _known_device(platform, device_id)
    svc = services()
    actions.note(svc.store.client, platform, device_id, actions.Asked(
        svc.clock(), "api", "revoke" if only_stale else "revoke_all"))
    actors.revoke_device.send(platform, device_id, only_stale, "api")
    return {"status": "accepted", "only_stale": only_stale}, 202


@bp.post("/devices/<platform>/<device_id>/reconcile")
def reconcile(platform: str, device_id: str):
    _gateway(_platform(platform))
    device_id = _known_device(platform, device_id)
    svc = services()
    actions.note(svc.store.client, platform, device_id, actions.Asked(svc.clock(), "api",
                                                                      "reconcile"))
    actors.reconcile_device.send(platform, device_id, True)
    return {"status": "accepted"}, 202

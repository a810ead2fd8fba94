"""The control and ground-truth API under `/_emulator/`: devices, clock, faults, truth, logs.

Not part of either platform: no auth, not rate-limited, not in the call log. Errors are
`{"error": {"code", "message"}}` (cmdkeeper's JSON error shape).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from emulator.devices import Device, DeviceError
from emulator.faults import FaultsError
from emulator.iotda_push import PushTargetError, Target
from emulator.push import PushConfigError, PushTarget, verify_url
from emulator.world import Emulator
from web.http import ApiError

bp = Blueprint("control", __name__, url_prefix="/_emulator")

#: Longest wait a flush may ask for.
FLUSH_MAX_S = 120.0


def _em() -> Emulator:
    return current_app.extensions["emulator"]


def _body() -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return body


def _number(body: dict[str, Any], key: str, default: float | None = None) -> float | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ApiError(400, "bad_request", f"{key} must be a number >= 0")
    return value


@bp.errorhandler(DeviceError)
@bp.errorhandler(FaultsError)
@bp.errorhandler(PushConfigError)
@bp.errorhandler(PushTargetError)
def _bad_request(e: ValueError):
    return jsonify({"error": {"code": "bad_request", "message": str(e)}}), 400


@bp.get("/status")
def status():
    em = _em()
    with em.transaction():
        return em.status()


@bp.post("/reset")
def reset():
    body, em = _body(), _em()
    seed, start_ms = body.get("seed"), body.get("start_ms")
    for key, value in (("seed", seed), ("start_ms", start_ms)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ApiError(400, "bad_request", f"{key} must be an integer")
    faults = body.get("faults")
    if faults is not None and not isinstance(faults, dict):
        raise ApiError(400, "bad_request", "faults must be an object")
    em.reset(seed=seed, start_ms=start_ms, speed=_number(body, "speed"), faults=faults)
    with em.transaction():
        return em.status()


@bp.get("/devices")
def devices():
    em = _em()
    with em.transaction():
        return {"devices": [d.to_dict() for d in em.fleet.devices.values()]}


@bp.post("/devices")
def add_device():
    body, em = _body(), _em()
    with em.transaction():
        device = em.fleet.add(**{"platform": None, **body})
        return device.to_dict(), 201


def _device(em: Emulator, platform: str, device_id: str) -> Device:
    device = em.fleet.get(platform, device_id)
    if device is None:
        raise ApiError(404, "not_found", f"no device {platform}/{device_id}")
    return device


@bp.get("/devices/<platform>/<device_id>")
def get_device(platform: str, device_id: str):
    em = _em()
    with em.transaction():
        return _device(em, platform, device_id).to_dict()


@bp.patch("/devices/<platform>/<device_id>")
def update_device(platform: str, device_id: str):
    body, em = _body(), _em()
    with em.transaction():
        device = _device(em, platform, device_id)
        em.fleet.update(device, body)
        return device.to_dict()


@bp.post("/devices/<platform>/<device_id>/wake")
def wake(platform: str, device_id: str):
    body, em = _body(), _em()
    with em.transaction():
        device = _device(em, platform, device_id)
        em.fleet.wake(device, body.get("uplink"))
        return device.to_dict()


@bp.post("/devices/<platform>/<device_id>/sleep")
def sleep(platform: str, device_id: str):
    em = _em()
    with em.transaction():
        device = _device(em, platform, device_id)
        em.fleet.sleep(device)
        return device.to_dict()


@bp.get("/faults")
def get_faults():
    return _em().faults.to_dict()


@bp.route("/faults", methods=["PUT", "POST", "PATCH"])
def set_faults():
    return _em().set_faults(_body()).to_dict()


@bp.post("/clock/advance")
def advance():
    body = _body()
    seconds = _number(body, "seconds")
    if seconds is None:
        raise ApiError(400, "bad_request", "seconds is required")
    now_ms = _em().advance(seconds)
    return {"now_ms": now_ms}


@bp.post("/clock/speed")
def set_speed():
    speed = _number(_body(), "speed")
    if speed is None:
        raise ApiError(400, "bad_request", "speed is required")
    em = _em()
    with em.transaction():
        em.clock.set_speed(speed)
        return {"now_ms": em.engine.now_ms, "speed": speed}


@bp.get("/truth")
def truth():
    em, a = _em(), request.args
    with em.transaction() as now_ms:
        return {"now_ms": now_ms,
                "commands": em.truth(a.get("platform") or None, a.get("device_id") or None)}


@bp.get("/truth/<platform>/<command_id>")
def truth_of(platform: str, command_id: str):
    em = _em()
    with em.transaction():
        found = [c for c in em.truth(platform) if c["command_id"] == command_id]
        if not found:
            raise ApiError(404, "not_found", f"no command {platform}/{command_id}")
        return found[0]


def _since() -> int:
    try:
        return int(request.args.get("since", "0"))
    except ValueError:
        raise ApiError(400, "bad_request", "since must be an integer") from None


@bp.get("/calls")
def calls():
    em = _em()
    with em.lock:
        return {"calls": em.calls.select(request.args.get("platform") or None, _since())}


@bp.get("/deliveries")
def deliveries():
    em, since, channel = _em(), _since(), request.args.get("channel") or None
    with em.lock:
        return {"deliveries": [d for d in em.outbox.log if d["id"] > since
                               and (channel is None or d["channel"] == channel)],
                **em.outbox.counts()}


@bp.post("/deliveries/flush")
def flush():
    timeout_s = min(_number(_body(), "timeout_s", 10.0), FLUSH_MAX_S)
    em = _em()
    idle = em.outbox.wait_idle(timeout_s)
    return {"idle": idle, **em.outbox.counts()}, 200 if idle else 504


@bp.get("/onenet/push")
def get_push():
    em = _em()
    return {"push": em.onenet.push.to_dict() if em.onenet.push else None}


@bp.route("/onenet/push", methods=["PUT", "POST"])
def set_push():
    body, em = _body(), _em()
    for key in ("url", "token"):
        if not isinstance(body.get(key), str):
            raise ApiError(400, "bad_request", f"{key} is required")
    block = body.get("block", 16)
    target = PushTarget(body["url"], body["token"], body.get("aes_key") or None,
                        block if isinstance(block, int) else 0).check()
    result = {"verified": None}
    if body.get("verify", True):
        with em.lock:
            msg, nonce = em.rngs.nonce(16), em.rngs.nonce()
        result = verify_url(target, msg, nonce)
        if not result["verified"]:
            return {"error": {"code": "verification_failed", "message": result["error"]},
                    **result}, 409
    with em.lock:
        em.onenet.push = target
    return {"push": target.to_dict(), **result}


@bp.delete("/onenet/push")
def clear_push():
    em = _em()
    with em.lock:
        em.onenet.push = None
    return {"push": None}


@bp.post("/huawei/token/expire")
def expire_token():
    em = _em()
    with em.transaction() as now_ms:
        em.tokens.expire(now_ms)
        return {"expired": em.tokens.current is not None}


@bp.get("/iotda/push")
def get_iotda_push():
    em = _em()
    with em.transaction():
        return em.forwarder.to_dict()


@bp.route("/iotda/push", methods=["PUT", "POST"])
def set_iotda_push():
    """The rule engine's forwarding target: `url`, and optionally `timeout_s`,
    `blocklist_after`, `retry_s`, `backlog_ttl_s` (start values: the EMULATOR_IOTDA_* ones)."""
    body, em = _body(), _em()
    s = em.settings
    base = Target(body.get("url") or "", s.iotda_push_timeout_s, s.iotda_push_blocklist_after,
                  s.iotda_push_retry_s, s.iotda_backlog_ttl_s)
    target = base.updated({k: v for k, v in body.items() if k != "url"})
    with em.transaction():
        em.forwarder.set_target(target)
        return em.forwarder.to_dict()


@bp.delete("/iotda/push")
def clear_iotda_push():
    em = _em()
    with em.transaction():
        em.forwarder.set_target(None)
        return em.forwarder.to_dict()

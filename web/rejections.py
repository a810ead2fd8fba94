"""Callbacks cmdkeeper did not take: counted by reason, logged at WARNING at most once a minute
per reason and process, and each reason's likely cause (the dashboard's fleet page names it).

A OneNET push that fails verification or parsing is answered 200 and ignored (OneNET re-sends
anything else and disables the push after 2,000 failures or 24 h, as its own receivers expect),
so an operator hears of a token typo here, in `cmdkeeper_callbacks_rejected_total` and on the
dashboard, not from a disabled push. Nothing logged names a token, a key or a body: only the
platform, the reason code and a count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cmdkeeper.metric_names import CALLBACKS_REJECTED

log = logging.getLogger("cmdkeeper.webhooks")

#: At most one WARNING line per (platform, reason) this often, per process.
LOG_INTERVAL_S = 60.0

#: What the platform's callbacks are called in a sentence.
NOUN = {"huawei": "Huawei callbacks", "onenet": "OneNET pushes", "iotda": "IoTDA pushes"}
#: IoTDA discards a push it could not deliver (it never retries one).
_DISCARDED = "IoTDA discarded them; the devices' history re-checks catch up"


@dataclass(frozen=True)
class Cause:
    #: What happened to them, completing "<NOUN> ...".
    what: str
    #: What the operator should look at.
    check: str


_AWAY = "the platform retries them; nothing was lost"
#: Reasons whose cause is known, by (platform, reason); `cause()` covers the rest.
CAUSES: dict[tuple[str, str], Cause] = {
    ("onenet", "bad_signature"): Cause(
        "failed their signature", "check ONENET_PUSH_TOKEN / ONENET_AES_KEY"),
    ("onenet", "undecryptable"): Cause(
        "could not be decrypted", "check ONENET_AES_KEY (the console's EncodingAESKey)"),
    ("onenet", "aes_key_missing"): Cause(
        "arrived encrypted (secure mode) while ONENET_AES_KEY is not set",
        "set ONENET_AES_KEY to the console's EncodingAESKey"),
    ("onenet", "not_configured"): Cause(
        "arrived while ONENET_PUSH_TOKEN is not set", "set ONENET_PUSH_TOKEN to the console's "
        "Token"),
    ("huawei", "not_found"): Cause(
        "came with a wrong token in their URL",
        "check CMDKEEPER_WEBHOOK_TOKEN (commands created before it changed still call back with "
        "the old one)"),
    ("huawei", "storage_unavailable"): Cause("were answered 503 while Redis was away", _AWAY),
    ("onenet", "storage_unavailable"): Cause("were answered 503 while Redis was away", _AWAY),
    ("huawei", "broker_unavailable"): Cause("were answered 503 while the job broker was away",
                                            _AWAY),
    ("onenet", "broker_unavailable"): Cause("were answered 503 while the job broker was away",
                                            _AWAY),
    ("iotda", "not_found"): Cause(
        "came with a wrong token in their URL",
        "check the rule's HTTP action URL against IOTDA_WEBHOOK_TOKEN (CMDKEEPER_WEBHOOK_TOKEN "
        "when it is unset)"),
    ("iotda", "bad_signature"): Cause(
        "failed the configured signature check", "check the rule's signing token and the "
        "verifier given to create_app"),
    ("iotda", "unsupported_resource"): Cause(
        "carried no command status", "the rule's resource must be device.command.status "
        "(event update); forward other resources elsewhere"),
    ("iotda", "storage_unavailable"): Cause("were answered 503 while Redis was away",
                                            _DISCARDED),
    ("iotda", "broker_unavailable"): Cause("were answered 503 while the job broker was away",
                                           _DISCARDED),
}


def cause(platform: str, reason: str) -> Cause:
    """The likely cause of callbacks not taken for `reason`: a malformed body, unless known."""
    return CAUSES.get((platform, reason)) or Cause(
        f"were malformed ({reason})",
        "has the platform's format changed? (docs/platforms.md, \"What real clients showed\"); "
        "their commands are caught up by the devices' history re-checks")


class RejectionLog:
    """WARNING lines about callbacks not taken, at most one per (platform, reason) per
    `interval_s`, each saying how many there were since the previous one."""

    def __init__(self, logger: logging.Logger, interval_s: float = LOG_INTERVAL_S,
                 now_s: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.interval_s, self.now_s = logger, interval_s, now_s
        self._lock = threading.Lock()
        self._unsaid: dict[tuple[str, str], int] = {}
        self._said_at: dict[tuple[str, str], float] = {}

    def note(self, platform: str, reason: str) -> None:
        key = (platform, reason)
        with self._lock:
            count = self._unsaid.get(key, 0) + 1
            said_at, now = self._said_at.get(key), self.now_s()
            if said_at is not None and now - said_at < self.interval_s:
                self._unsaid[key] = count
                return
            self._unsaid[key], self._said_at[key] = 0, now
        why = cause(platform, reason)
        self.logger.warning("%s %s: %d not taken since this process last said so (reason %s); "
                            "%s", NOUN.get(platform, platform), why.what, count, reason,
                            why.check)

    def reset(self) -> None:
        with self._lock:
            self._unsaid.clear()
            self._said_at.clear()


#: This process's log of callbacks not taken.
REJECTIONS = RejectionLog(log)


def count_rejected(platform: str, reason: str, amount: int = 1) -> None:
    """Callbacks (or messages of a batched push) not taken: counted, and logged (rate-limited)."""
    if amount > 0:
        CALLBACKS_REJECTED.inc(amount, platform=platform, reason=reason)
        REJECTIONS.note(platform, reason)

"""IoTDA's rule engine HTTP forwarding of `device.command.status`: discard, blocklist, backlog.

What the platform documents (docs/platforms.md, "IoTDA: push"): a push that is not
answered 200 within 15 s is failed and **discarded** (never retried). After 10 consecutive
failures the target host is blocklisted: messages then pile up (24 h at most here) and the host
is tried again every 3 min; once it answers 200 the backlog drains, in order. All three figures
are settings, and the control API can change them with the target, so tests can shrink them.

Pushes go through the shared `Outbox` (so drop, duplicate, delay and reorder faults apply) as
messages that are not retried and count only a 200. The blocklist is kept per host here. A
push already queued when its host gets blocklisted is still tried (and discarded if it fails);
the next ones pile up. The backlog is tried from its oldest message: a failed try keeps it.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from emulator.delivery import Message, Outbox
from emulator.engine import Engine, Event
from emulator.settings import Settings

#: Connect timeout of a push; the read timeout is the target's `timeout_s`.
CONNECT_TIMEOUT_S = 2.0


class PushTargetError(ValueError):
    """Raised when a forwarding target is malformed (URL, or a figure out of range)."""


@dataclass(frozen=True)
class Target:
    url: str
    timeout_s: float = 15.0
    blocklist_after: int = 10
    retry_s: float = 180.0
    backlog_ttl_s: float = 86400.0

    @classmethod
    def from_settings(cls, s: Settings) -> Target | None:
        if not s.iotda_push_url:
            return None
        return cls(s.iotda_push_url, s.iotda_push_timeout_s, s.iotda_push_blocklist_after,
                   s.iotda_push_retry_s, s.iotda_backlog_ttl_s).check()

    def updated(self, changes: dict[str, Any]) -> Target:
        known = {"url", "timeout_s", "blocklist_after", "retry_s", "backlog_ttl_s"}
        unknown = set(changes) - known
        if unknown:
            raise PushTargetError(f"unknown push settings {sorted(unknown)}")
        return replace(self, **changes).check()

    def check(self) -> Target:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise PushTargetError("url must be an http(s) URL")
        for name in ("timeout_s", "retry_s", "backlog_ttl_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise PushTargetError(f"{name} must be a positive number")
        if isinstance(self.blocklist_after, bool) or not isinstance(self.blocklist_after, int) \
                or self.blocklist_after < 1:
            raise PushTargetError("blocklist_after must be an integer >= 1")
        return self


@dataclass
class Host:
    """One target host's standing with the rule engine."""

    failures: int = 0  #: consecutive
    blocked_since_ms: int | None = None
    backlog: deque[tuple[int, str, dict[str, Any]]] = field(default_factory=deque)
    probe: Event | None = None
    delivered: int = 0
    discarded: int = 0
    expired: int = 0  #: piled up longer than the backlog TTL

    def to_dict(self) -> dict[str, Any]:
        return {"blocked": self.blocked_since_ms is not None,
                "blocked_since_ms": self.blocked_since_ms, "consecutive_failures": self.failures,
                "backlog": len(self.backlog), "delivered": self.delivered,
                "discarded": self.discarded, "expired": self.expired}


class Forwarder:
    """The rule engine's HTTP action: one target, hosts remembered by `host:port`."""

    def __init__(self, engine: Engine, outbox: Outbox, target: Target | None) -> None:
        self.engine, self.outbox = engine, outbox
        self.target = target
        self.hosts: dict[str, Host] = {}

    def set_target(self, target: Target | None) -> None:
        """A new target starts with a clean slate (no blocklist, no backlog)."""
        for host in self.hosts.values():
            self.engine.cancel(host.probe)
        self.target, self.hosts = target, {}

    def forward(self, msg: dict[str, Any], meta: dict[str, Any]) -> None:
        if self.target is None:
            return
        body = json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
        host = self._host()
        if host.blocked_since_ms is not None:
            host.backlog.append((self.engine.now_ms, body, meta))
            return
        self._submit(body, meta, partial(self._attempted, host))

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {"target": None if t is None else {
            "url": t.url, "timeout_s": t.timeout_s, "blocklist_after": t.blocklist_after,
            "retry_s": t.retry_s, "backlog_ttl_s": t.backlog_ttl_s},
            "hosts": {name: h.to_dict() for name, h in self.hosts.items()}}

    # -- under the emulator lock (attempt callbacks and clock events) ------------------------
    def _host(self) -> Host:
        return self.hosts.setdefault(urlsplit(self.target.url).netloc, Host())

    def _current(self, host: Host) -> bool:
        """False for a host of an earlier target (the answer came after the target changed)."""
        return self.target is not None and self.hosts.get(urlsplit(self.target.url).netloc) \
            is host

    def _submit(self, body: str, meta: dict[str, Any], on_attempt: Any) -> None:
        t = self.target
        self.outbox.submit(Message("iotda", t.url, body, dict(meta), on_attempt,
                                   timeout_s=(CONNECT_TIMEOUT_S, t.timeout_s), retry=False,
                                   ok_status=200))

    def _attempted(self, host: Host, ok: bool) -> None:
        if not self._current(host):
            return
        if ok:
            host.failures, host.delivered = 0, host.delivered + 1
            return
        host.failures, host.discarded = host.failures + 1, host.discarded + 1
        if host.failures >= self.target.blocklist_after and host.blocked_since_ms is None:
            host.blocked_since_ms = self.engine.now_ms
            self._schedule_probe(host)

    def _schedule_probe(self, host: Host) -> None:
        self.engine.cancel(host.probe)
        host.probe = self.engine.after(self.target.retry_s, self._probe, host)

    def _probe(self, host: Host) -> None:
        if not self._current(host) or host.blocked_since_ms is None:
            return
        cutoff = self.engine.now_ms - self.target.backlog_ttl_s * 1000
        while host.backlog and host.backlog[0][0] < cutoff:
            host.backlog.popleft()
            host.expired += 1
        # the next try is planned now: a probe lost to an injected drop must not end the tries
        self._schedule_probe(host)
        if host.backlog:
            first = host.backlog[0]
            self._submit(first[1], {**first[2], "probe": True},
                         partial(self._probed, host, first))

    def _probed(self, host: Host, first: tuple[int, str, dict[str, Any]], ok: bool) -> None:
        if not ok or not self._current(host) or host.blocked_since_ms is None:
            return  # still blocked: the backlog waits for the next probe
        self.engine.cancel(host.probe)
        host.probe, host.blocked_since_ms, host.failures = None, None, 0
        host.delivered += 1
        if host.backlog and host.backlog[0] is first:
            host.backlog.popleft()
        while host.backlog:
            _, body, meta = host.backlog.popleft()
            self._submit(body, meta, partial(self._attempted, host))

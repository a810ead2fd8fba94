"""Outbound webhook subscriptions: what each subscriber wants, where it is in the feed, its health.

One hash per subscription (`keys.subscription`), listed in `keys.SUBSCRIPTIONS`. A subscription's
`cursor` is the id of the last feed event it took (or skipped as not its platform): deliveries
resume after it, so a worker that dies mid-delivery loses nothing and the next one sends the same
event again (same `webhook-id`). The cursor moves only by compare-and-set
(`lua/delivery_ok.lua`): a replay or an `enable` that moved it meanwhile wins over a delivery run
still in flight.

Secrets are kept here (the workers sign with them) and shown only when created or rotated; a
rotated-out secret stays valid for `ROTATION_GRACE_MS`, and deliveries are signed with both.
"""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from cmdkeeper.clock import ms_to_iso
from store import feed, keys
from store.script_calls import Scripts

#: A rotated-out secret still signs deliveries this long, so receivers can switch over.
ROTATION_GRACE_MS = 24 * 3600 * 1000
#: The id of the subscription NOTIFY_URL defines.
ENV_SUBSCRIPTION_ID = "sub_env"
#: Bytes of randomness in a new secret (Standard Webhooks asks for 24 to 64).
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh `whsec_<base64>` secret."""
    return "whsec_" + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def new_id() -> str:
    return "sub_" + random.token_hex(8)


@dataclass(frozen=True)
class Subscription:
    """A subscription as stored, secrets aside (`SubscriptionStore.signing_secrets`)."""

    id: str
    url: str
    description: str
    #: The platforms whose events it takes; empty: all.
    platforms: tuple[str, ...]
    created_ms: int
    enabled: bool
    cursor: str
    cursor_n: int
    #: Made by `python -m cmdkeeper listen`: it may be a local address.
    local: bool = False
    delivered: int = 0
    last_delivered_ms: int | None = None
    #: When the current run of failures began; None while healthy.
    failing_since_ms: int | None = None
    attempts: int = 0
    next_attempt_ms: int | None = None
    last_error: str | None = None
    disabled_reason: str | None = None
    disabled_ms: int | None = None

    def wants(self, event: feed.FeedEvent) -> bool:
        return not self.platforms or event.platform in self.platforms


def _int(raw: dict[str, str], name: str) -> int | None:
    value = raw.get(name)
    return int(value) if value not in (None, "") else None


def decode(sub_id: str, raw: dict[str, str]) -> Subscription:
    return Subscription(
        id=sub_id, url=raw["url"], description=raw.get("description", ""),
        platforms=tuple(p for p in raw.get("platforms", "").split(",") if p),
        created_ms=int(raw["created_at"]), enabled=raw.get("enabled") == "1",
        cursor=raw.get("cursor", "0-0"), cursor_n=int(raw.get("cursor_n", 0)),
        local=raw.get("local") == "1", delivered=int(raw.get("delivered", 0)),
        last_delivered_ms=_int(raw, "last_delivered_at"),
        failing_since_ms=_int(raw, "failing_since"), attempts=int(raw.get("attempts", 0)),
        next_attempt_ms=_int(raw, "next_attempt_at"), last_error=raw.get("last_error") or None,
        disabled_reason=raw.get("disabled_reason") or None, disabled_ms=_int(raw, "disabled_at"),
    )


_HEALTH_FIELDS = ("failing_since", "attempts", "next_attempt_at", "last_error",
                  "disabled_reason", "disabled_at")


class SubscriptionStore:
    """Reads and writes subscriptions; takes an explicit Redis client (decode_responses=True)."""

    def __init__(self, client: redis.Redis, scripts: Scripts | None = None) -> None:
        self.client = client
        self.scripts = scripts or Scripts(client)

    # -- the application's side -------------------------------------------------------------
    def create(self, url: str, now_ms: int, *, description: str = "",
               platforms: Sequence[str] = (), secret: str | None = None,
               sub_id: str | None = None, local: bool = False) -> tuple[Subscription, str]:
        """A new subscription, taking events from now on; (it, its secret)."""
        sub_id = sub_id or new_id()
        secret = secret or new_secret()
        cursor, cursor_n = feed.newest(self.client)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(keys.subscription(sub_id))
        pipe.hset(keys.subscription(sub_id), mapping={
            "url": url, "description": description, "platforms": ",".join(platforms),
            "secret": secret, "created_at": now_ms, "enabled": "1", "cursor": cursor,
            "cursor_n": cursor_n, "local": "1" if local else "0", "delivered": 0,
        })
        pipe.zadd(keys.SUBSCRIPTIONS, {sub_id: now_ms})
        pipe.execute()
        return self.get(sub_id), secret  # type: ignore[return-value]

    def define_from_env(self, url: str, secret: str, now_ms: int) -> Subscription:
        """The subscription NOTIFY_URL and NOTIFY_SECRET define: created once, its URL and secret
        kept in step with the environment, its cursor and health left as they are."""
        existing = self.get(ENV_SUBSCRIPTION_ID)
        if existing is None:
            return self.create(url, now_ms, description="NOTIFY_URL", secret=secret,
                               sub_id=ENV_SUBSCRIPTION_ID)[0]
        self.client.hset(keys.subscription(ENV_SUBSCRIPTION_ID),
                         mapping={"url": url, "secret": secret})
        return self.get(ENV_SUBSCRIPTION_ID)  # type: ignore[return-value]

    def get(self, sub_id: str) -> Subscription | None:
        raw = self.client.hgetall(keys.subscription(sub_id))
        return decode(sub_id, raw) if raw else None

    def list(self) -> list[Subscription]:
        """Every subscription, oldest first (one round trip for the lot)."""
        ids = self.client.zrange(keys.SUBSCRIPTIONS, 0, -1)
        pipe = self.client.pipeline(transaction=False)
        for sub_id in ids:
            pipe.hgetall(keys.subscription(sub_id))
        return [decode(i, raw) for i, raw in zip(ids, pipe.execute(), strict=True) if raw]

    def delete(self, sub_id: str) -> bool:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(keys.SUBSCRIPTIONS, sub_id)
        pipe.delete(keys.subscription(sub_id), keys.subscription_lock(sub_id))
        return bool(pipe.execute()[0])

    def rotate_secret(self, sub_id: str, now_ms: int) -> str | None:
        """A new secret; the old one still signs for ROTATION_GRACE_MS. None: no such
        subscription."""
        key = keys.subscription(sub_id)
        old = self.client.hget(key, "secret")
        if old is None:
            return None
        secret = new_secret()
        self.client.hset(key, mapping={"secret": secret, "previous_secret": old,
                                       "previous_until": now_ms + ROTATION_GRACE_MS})
        return secret

    def signing_secrets(self, sub_id: str, now_ms: int) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and a rotated-out one
        still in its grace period."""
        current, previous, until = self.client.hmget(
            keys.subscription(sub_id), "secret", "previous_secret", "previous_until")
        out = [current] if current else []
        if previous and until and int(until) > now_ms:
            out.append(previous)
        return out

    def replay(self, sub_id: str, since_ms: int) -> bool:
        """Send again every kept event applied since `since_ms` (the cursor moves back, or
        forward to there); False: no such subscription."""
        key = keys.subscription(sub_id)
        if not self.client.exists(key):
            return False
        cursor = feed.id_at(since_ms)
        oldest = feed.oldest_kept(self.client)
        if oldest is not None and feed.id_key(cursor) < feed.id_key(oldest):
            cursor = feed.id_at(feed.id_key(oldest)[0])
        before = self.client.xrevrange(keys.EVENTS, cursor, "-", count=1)
        cursor_n = int(before[0][1]["n"]) if before else self._n_before_oldest()
        self.client.hset(key, mapping={"cursor": cursor, "cursor_n": cursor_n})
        return True

    def _n_before_oldest(self) -> int:
        first = self.client.xrange(keys.EVENTS, "-", "+", count=1)
        return int(first[0][1]["n"]) - 1 if first else int(self.client.get(keys.EVENTS_SEQ) or 0)

    def enable(self, sub_id: str) -> bool:
        """Deliver again from where it stopped; False: no such subscription."""
        key = keys.subscription(sub_id)
        if not self.client.exists(key):
            return False
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(key, *_HEALTH_FIELDS)
        pipe.hset(key, mapping={"enabled": "1", "attempts": 0})
        pipe.execute()
        return True

    # -- the delivering worker's side -------------------------------------------------------
    def delivered(self, sub: Subscription, cursor: str, event: feed.FeedEvent,
                  now_ms: int, *, retain_ms: int) -> bool:
        """Move the cursor past `event`, taken by the subscriber at `now_ms` (recorded on its
        command too), if it is still at `cursor`; False when a replay or enable moved it."""
        return bool(self.scripts.delivery_ok(
            subscription=keys.subscription(sub.id),
            deliveries=keys.deliveries(event.platform, event.device_id),
            expected_cursor=cursor, cursor=event.id, cursor_n=event.n, now_ms=now_ms,
            command_id=event.command_id,
            entry=f"{sub.id},{event.state},{event.attempt},{now_ms}", ttl_ms=retain_ms))

    def skipped(self, sub: Subscription, cursor: str, event: feed.FeedEvent) -> bool:
        """Move the cursor past events the subscription does not take (compare-and-set)."""
        return bool(self.scripts.delivery_ok(
            subscription=keys.subscription(sub.id),
            deliveries=keys.deliveries(event.platform, event.device_id), expected_cursor=cursor,
            cursor=event.id, cursor_n=event.n, now_ms=0, command_id="", entry="", ttl_ms=0))

    def failed(self, sub_id: str, now_ms: int, error: str, next_attempt_ms: int) -> Subscription:
        """One more failure in a row; the subscription as it is now."""
        key = keys.subscription(sub_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.hsetnx(key, "failing_since", now_ms)
        pipe.hincrby(key, "attempts", 1)
        pipe.hset(key, mapping={"next_attempt_at": next_attempt_ms, "last_error": error[:300]})
        pipe.hgetall(key)
        return decode(sub_id, pipe.execute()[-1])

    def disable(self, sub_id: str, reason: str, now_ms: int) -> None:
        self.client.hset(keys.subscription(sub_id), mapping={
            "enabled": "0", "disabled_reason": reason[:300], "disabled_at": now_ms})

    def deliveries_of(self, platform: str, device_id: str,
                      command_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """When each subscriber took each event of these commands (kept as long as the feed
        keeps events): command id -> [{subscription, state, attempt, at_ms}]."""
        if not command_ids:
            return {}
        raw = self.client.hmget(keys.deliveries(platform, device_id), list(command_ids))
        out: dict[str, list[dict[str, Any]]] = {}
        for command_id, value in zip(command_ids, raw, strict=True):
            for item in (value or "").split(";"):
                if item:
                    sub_id, state, attempt, at_ms = item.split(",")
                    out.setdefault(command_id, []).append({
                        "subscription": sub_id, "state": state, "attempt": int(attempt),
                        "at_ms": int(at_ms)})
        return out


def backlog(client: redis.Redis) -> dict[str, int]:
    """Events each subscription has not taken yet (for `/metrics`, the API and the dashboard):
    the feed numbers its events, so this is a subtraction per subscription."""
    ids = client.zrange(keys.SUBSCRIPTIONS, 0, -1)
    if not ids:
        return {}
    _, newest_n = feed.newest(client)
    pipe = client.pipeline(transaction=False)
    for sub_id in ids:
        pipe.hget(keys.subscription(sub_id), "cursor_n")
    return {s: max(0, newest_n - int(n or 0)) for s, n in zip(ids, pipe.execute(), strict=True)}


def public_json(sub: Subscription, backlog: int | None = None) -> dict[str, Any]:
    """The subscription as the API shows it (never its secret)."""
    out = {
        "id": sub.id, "url": sub.url, "description": sub.description,
        "platforms": list(sub.platforms), "created_at": ms_to_iso(sub.created_ms),
        "enabled": sub.enabled, "cursor": sub.cursor, "delivered": sub.delivered,
        "last_delivered_at": ms_to_iso(sub.last_delivered_ms),
        "failing_since": ms_to_iso(sub.failing_since_ms), "attempts": sub.attempts,
        "next_attempt_at": ms_to_iso(sub.next_attempt_ms), "last_error": sub.last_error,
        "disabled_reason": sub.disabled_reason, "disabled_at": ms_to_iso(sub.disabled_ms),
    }
    if backlog is not None:
        out["backlog"] = backlog
    return out

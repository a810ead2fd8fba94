"""One delivery as the Standard Webhooks spec has it: body, `webhook-*` headers, signature.

The body is `{"type", "timestamp", "data"}`; `webhook-id` is the event id (the same on every
retry, so receivers can drop repeats), `webhook-timestamp` the send time in seconds, and
`webhook-signature` `v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>`, one per secret in
use, space-separated (during a rotation, with both the new and the old secret). Signing is the
`standardwebhooks` library's own, the one receivers verify with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from standardwebhooks.webhooks import Webhook

from store.feed import EVENT_TYPE, FeedEvent


def body(event: FeedEvent) -> str:
    """The JSON body of an event's delivery (compact, keys in a fixed order)."""
    data = event.to_json()
    return orjson.dumps({"type": EVENT_TYPE, "timestamp": data["at"], "data": data}).decode()


def signers(secrets: Sequence[str]) -> list[Webhook]:
    """One signer per secret (each decodes its secret once)."""
    return [Webhook(s) for s in secrets]


def headers(event_id: str, data: str, secrets: Sequence[str | Webhook],
            now_ms: int) -> dict[str, str]:
    """The `webhook-*` headers of one delivery attempt, signed with each of `secrets` (secrets
    as text, or the `signers` made of them)."""
    sent = datetime.fromtimestamp(now_ms // 1000, tz=UTC)
    signatures = " ".join((s if isinstance(s, Webhook) else Webhook(s)).sign(event_id, sent, data)
                          for s in secrets)
    return {"webhook-id": event_id, "webhook-timestamp": str(now_ms // 1000),
            "webhook-signature": signatures, "content-type": "application/json"}

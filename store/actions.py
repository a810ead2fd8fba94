"""What operators asked of a device, and who asked: the dashboard's timelines show it.

A revocation or a reconcile asked for through the API, the CLI or the dashboard (and a dead
letter replayed) is noted on the device (`keys.device_actions`): when, who (`api`, `cli`,
`dashboard`), what, and a short detail. The device page draws each note on the timeline of
every command that was open at that moment, so "CANCELED, source revoke" reads with the request
that led to it; the record itself keeps who asked for the revocation that cancelled it
(`revoke_requested_by`, workers/revoke.py).

Bounded: the newest `KEEP` notes per device, for `TTL_S` after the last one. One round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from store import keys

#: Notes kept per device, and for how long after the newest (seconds).
KEEP = 50
TTL_S = 30 * 86_400

#: Who may ask (the `by` of a note, and of a record's `revoke_requested_by`).
ASKERS = ("api", "cli", "dashboard")
#: What may be asked.
ACTIONS = ("revoke", "revoke_all", "reconcile", "replay")

_SEP = "|"


@dataclass(frozen=True)
class Asked:
    at_ms: int
    by: str
    action: str
    detail: str = ""

    @property
    def text(self) -> str:
        what = {"revoke": "revoke its stale commands", "revoke_all": "revoke every PENDING "
                "command", "reconcile": "re-check its history", "replay": "replay a dead letter"}
        line = f"{self.by} asked to {what.get(self.action, self.action)}"
        return f"{line} ({self.detail})" if self.detail else line


def note(client: redis.Redis | redis.client.Pipeline, platform: str, device_id: str,
         asked: Asked) -> None:
    """Note a request on the device (queued only, when given a pipeline)."""
    detail = asked.detail.replace(_SEP, "/").replace("\n", " ")[:200]
    key = keys.device_actions(platform, device_id)
    pipe = client if isinstance(client, redis.client.Pipeline) else client.pipeline(
        transaction=False)
    pipe.lpush(key, _SEP.join((str(asked.at_ms), asked.by, asked.action, detail)))
    pipe.ltrim(key, 0, KEEP - 1)
    pipe.expire(key, TTL_S)
    if pipe is not client:
        pipe.execute()


def decode(raw: list[str]) -> list[Asked]:
    """The stored notes, oldest first (unreadable ones skipped)."""
    out = []
    for item in reversed(raw):
        parts = item.split(_SEP, 3)
        if len(parts) == 4 and parts[0].isdigit():
            out.append(Asked(int(parts[0]), parts[1], parts[2], parts[3]))
    return out


def read(client: redis.Redis, platform: str, device_id: str) -> list[Asked]:
    return decode(client.lrange(keys.device_actions(platform, device_id), 0, -1))

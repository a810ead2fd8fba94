"""dramatiq messages for one actor, written as bytes from a pre-built envelope: what
`Message(...).encode()` writes, without building the `Message` or encoding it generically.

Every webhook callback puts one `apply_event` message on the queue. dramatiq's own way to write
one builds a `Message` dataclass, turns it into a dict field by field and hands it to
`json.dumps`; the web process did that on every callback, for a message whose every part but the
event, two ids and a time is the same each time. Here the constant parts are encoded once, per
actor, and each message is those bytes with the event's JSON (orjson) and the ids spliced in.

What comes out is dramatiq's JSON encoding of the message: the same fields in the same order
(`queue_name, actor_name, args, kwargs, options, message_id, message_timestamp`), so dramatiq's
Redis broker and the worker decode it as the same `Message`; for printable ASCII text it is the
same bytes too (orjson writes other text as UTF-8, and DEL as it is, where json writes `\\u`
escapes: it decodes the same). Text orjson refuses (a lone surrogate), a value json cannot
encode (a dataclass, a datetime), and an encoder other than dramatiq's JSON one
(`dramatiq.set_encoder`) take dramatiq's own way instead, so nothing is written that dramatiq
would have written differently or refused. Messages carry plain values only
(workers/actors.py): UUIDs and plain enums, which orjson would write and json refuse, are not
among them.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
from dramatiq import Actor, JSONEncoder, get_encoder

#: Values json cannot encode go to dramatiq's encoder, which refuses them as it always has.
_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


#: The hex digit that starts a version 4 UUID's 4th group, by the random digit it replaces: its two
#: top bits are the RFC 4122 variant, 10.
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def new_id() -> str:
    """A fresh random (version 4) UUID, written as dramatiq writes its ids (`str(uuid4())`),
    without building a `uuid.UUID`: two of these go into every webhook callback's message."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


class Envelope:
    """Writes messages for one actor, with keyword arguments only (as `actor.send(**kwargs)`)."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        head = orjson.dumps({"queue_name": actor.queue_name, "actor_name": actor.actor_name,
                             "args": []})
        self._head = head[:-1] + b',"kwargs":'

    def encode(self, kwargs: dict[str, Any], options: dict[str, Any]) -> bytes:
        """The message `actor.message_with_options(kwargs=kwargs, **options)` would make, with
        a fresh message id and timestamp, encoded."""
        message_id = new_id()
        timestamp = int(time.time() * 1000)  # dramatiq's own default
        if type(get_encoder()) is JSONEncoder:
            try:
                return b"".join((
                    self._head, orjson.dumps(kwargs, option=_STRICT), b',"options":',
                    orjson.dumps(options, option=_STRICT), b',"message_id":"',
                    message_id.encode(), b'","message_timestamp":', b"%d}" % timestamp))
            except orjson.JSONEncodeError:
                pass  # dramatiq's encoder escapes what orjson refuses, or refuses it too
        message = self.actor.message_with_options(kwargs=kwargs, **options)
        return message.copy(message_id=message_id, message_timestamp=timestamp).encode()

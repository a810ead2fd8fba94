"""The ids cmdkeeper accepts from outside (webhook bodies, API paths and bodies), checked once.

The platforms' device and command ids are UUIDs, hex, IMEIs and `product_node` pairs; braces,
spaces and control characters would corrupt Redis key names (a device's hash tag) or log lines,
so anything else is a 400 naming the field before it reaches the store.
"""

from __future__ import annotations

import re

from web.http import ApiError

#: Device and command ids we accept.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}")


def check_id(value: object, name: str) -> str:
    """The id as a string, or a 400 naming the field."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ApiError(400, "bad_field", f"{name} must be an id of 1-128 letters, digits or _.:@-")
    return value

"""Taking a slot of the shared call budget before a platform call, in the platforms' terms.

The budget itself (store/ratelimit.py) knows nothing of platforms: when no slot frees up in
time it raises its own `NoCallSlot`, which becomes the retryable `RateLimitTimeout` here, so
workers and the API handle it with every other platform error.
"""

from __future__ import annotations

from platforms.errors import RateLimitTimeout
from store.ratelimit import NoCallSlot, Priority, RateLimiter


def take_slot(limiter: RateLimiter, platform: str, priority: Priority) -> None:
    """A slot for one call to `platform`; RateLimitTimeout when none frees up in time."""
    try:
        limiter.acquire(priority)
    except NoCallSlot as e:
        raise RateLimitTimeout(platform, e.waited_s) from None

"""One HTTP request to a platform, with transport failures mapped to our retryable error."""

from __future__ import annotations

from typing import Any

import requests

from platforms.errors import RetryableError


def request(session: requests.Session, platform: str, method: str, url: str, path: str, *,
            timeout: tuple[float, float], **kwargs: Any) -> requests.Response:
    """`session.request(...)`; a timeout or a refused/broken connection is a RetryableError
    naming the call (never its headers or body, which carry credentials)."""
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise RetryableError(platform, "timeout", f"{method} {path} timed out") from None
    except requests.ConnectionError:
        raise RetryableError(platform, "connection", f"{method} {path}: cannot connect") \
            from None

"""Platform errors, shared by both clients: retryable versus permanent, keeping the platform's
own code and text so an operator can look them up."""

from __future__ import annotations


class PlatformError(Exception):
    """Base of every error a platform call raises."""

    def __init__(self, platform: str, code: str, text: str, http_status: int | None = None):
        super().__init__(f"{platform} error {code}: {text}")
        self.platform, self.code, self.text, self.http_status = platform, code, text, http_status

    def as_dict(self) -> dict:
        return {"platform": self.platform, "code": self.code, "text": self.text,
                "http_status": self.http_status}


class RetryableError(PlatformError):
    """Raised for failures that may pass: timeouts, connection errors, 5xx, congestion."""


class ThrottledError(RetryableError):
    """Raised when the platform says the app is over its call limit (Huawei 1010009, OneNET 15)."""


class TokenInvalidError(RetryableError):
    """Raised when the access token is invalid or superseded (Huawei 403/1010005)."""


class PermanentError(PlatformError):
    """Raised for failures that will not pass by retrying: bad input, unknown device, auth."""


class RateLimitTimeout(RetryableError):
    """Raised when our own shared call budget had no room before the caller's deadline."""

    def __init__(self, platform: str, waited_s: float):
        super().__init__(platform, "rate_limit_wait",
                         f"no call budget within {waited_s:.1f}s", None)

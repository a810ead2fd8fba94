"""The OneNET HTTP push target: configuration, URL verification handshake, push bodies.

Signing and AES come from `platforms.onenet_push` (one reading of docs/platforms.md,
"OneNET: push", for both sides).
Verification: GET url?msg=&nonce=&signature=, the signature's `+` unescaped, and the
target must answer 200 with exactly `msg` as its body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from platforms.onenet_push import PushFormatError, aes_key, build_push_body, signature

#: (connect, read) timeout of the verification GET.
VERIFY_TIMEOUT_S = (2.0, 5.0)


class PushConfigError(ValueError):
    """Raised when a push target is malformed (URL, AES key, block size)."""


@dataclass(frozen=True)
class PushTarget:
    url: str
    token: str
    aes_key: str | None = None  #: the EncodingAESKey; set means secure (encrypted) mode
    block: int = 16

    def check(self) -> PushTarget:
        if not self.url.startswith(("http://", "https://")):
            raise PushConfigError("url must be an http(s) URL")
        if not self.token:
            raise PushConfigError("token must not be empty")
        if self.block not in (16, 32):
            raise PushConfigError("block must be 16 or 32")
        if self.aes_key:
            try:
                aes_key(self.aes_key)
            except PushFormatError as e:
                raise PushConfigError(str(e)) from None
        return self

    def body(self, msg: Any, nonce: str) -> str:
        return build_push_body(msg, self.token, encoding_aes_key=self.aes_key or None,
                               nonce=nonce, block=self.block)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "token": self.token, "aes_key": self.aes_key,
                "block": self.block, "mode": "secure" if self.aes_key else "plaintext"}


def verify_url(target: PushTarget, msg: str, nonce: str,
               http: requests.Session | None = None) -> dict[str, Any]:
    """Run the GET handshake; returns {verified, http_status, body, error}."""
    if http is None:
        http = requests.Session()
        http.trust_env = False  # loopback targets; never through a proxy
    # The platform puts the signature in the query as it is, `+`, `/` and `=` unescaped (a PHP
    # receiver's $_GET then reads a `+` as a space, and its check expects exactly that);
    # `%2B` there failed such receivers about one handshake in four.
    query = (f"msg={quote(msg, safe='')}&nonce={quote(nonce, safe='')}"
             f"&signature={signature(target.token, nonce, msg)}")
    url = target.url + ("&" if "?" in target.url else "?") + query
    try:
        response = http.get(url, timeout=VERIFY_TIMEOUT_S)
    except requests.RequestException as e:
        return {"verified": False, "http_status": None, "body": None, "error": type(e).__name__}
    ok = response.status_code == 200 and response.text == msg
    return {"verified": ok, "http_status": response.status_code, "body": response.text[:200],
            "error": None if ok else "the answer must be HTTP 200 with exactly msg as its body"}

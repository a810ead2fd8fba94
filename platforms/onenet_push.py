"""OneNET HTTP push crypto (docs/platforms.md, "OneNET: push"): signatures, AES messages, raw `msg`
text.

Shared by the webhook (verify, decrypt) and the emulator (sign, encrypt), so both follow the one
reading of the spec:
- signature = base64(md5(token + nonce + X)), X the raw `msg` JSON text (plaintext mode) or the
  `enc_msg` string (secure mode); a `+` in a signature may arrive as a space. China Mobile's own
  receivers (cm-heclouds/data-push) hash a compact re-serialisation of the parsed `msg` instead
  (C#: Json.NET; PHP: json_encode, with `\\uXXXX` and `\\/` escapes), so `signed_texts` offers
  those too: whichever the platform signs, a push verifies (docs/platforms.md, "What real
  clients showed").
- AES-256-CBC, key = base64decode(EncodingAESKey + "="), IV = key[:16]; plaintext is
  16 random bytes || 4-byte big-endian length || msg || optional trailer; padding PKCS#7 to 16
  (or 32, WeChat style). Decryption ignores the padding and cuts by the length field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import string
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: Length of an EncodingAESKey (43 characters of [A-Za-z0-9], 32 bytes once decoded).
AES_KEY_CHARS = 43
NONCE_CHARS = 8


class PushFormatError(ValueError):
    """Raised when a push body, key or ciphertext does not have the documented shape."""


def signature(token: str, nonce: str, text: str) -> str:
    digest = hashlib.md5((token + nonce + text).encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(token: str, nonce: str, text: str, given: str) -> bool:
    """Constant-time check of a signature; a `+` that arrived as a space is put back, and the
    `=` padding may be missing (China Mobile's PHP receiver strips it from both sides)."""
    expected = signature(token, nonce, text).rstrip("=")
    return hmac.compare_digest(expected.encode(),
                               given.replace(" ", "+").rstrip("=").encode("utf-8", "replace"))


def signed_texts(raw: str | None, msg: Any) -> list[str]:
    """The texts a plaintext push's signature may cover, the raw `msg` text as sent (None: it
    could not be cut out) first, then the compact re-serialisations of the parsed `msg` that the
    official receivers hash: UTF-8 (C#, Java), and PHP json_encode's (non-ASCII as `\\uXXXX`,
    `/` as `\\/`). Each is over the same parsed value, so accepting any of them accepts nothing
    the token did not sign."""
    compact = json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
    ascii_only = json.dumps(msg, separators=(",", ":"))
    # json.dumps writes `/` only inside strings, so escaping every one is exactly PHP's rule
    php = ascii_only.replace("/", "\\/")
    candidates = ([raw] if raw is not None else []) + [compact, ascii_only, php]
    return list(dict.fromkeys(candidates))  # each once, in order


def verify_any(token: str, nonce: str, texts: list[str], given: str) -> bool:
    """Whether the signature covers one of `texts` (each checked in constant time)."""
    return any([verify(token, nonce, text, given) for text in texts])


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != AES_KEY_CHARS:
        raise PushFormatError(f"an EncodingAESKey has {AES_KEY_CHARS} characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except ValueError:
        raise PushFormatError("an EncodingAESKey is base64 text") from None
    if len(key) != 32:
        raise PushFormatError("an EncodingAESKey decodes to 32 bytes")
    return key


def encrypt(msg_text: str, encoding_aes_key: str, *, block: int = 16,
            random_bytes: Callable[[int], bytes] = os.urandom, trailer: bytes = b"") -> str:
    """The `enc_msg` for a message text (emulator side)."""
    key = aes_key(encoding_aes_key)
    body = msg_text.encode("utf-8")
    plain = random_bytes(16) + len(body).to_bytes(4, "big") + body + trailer
    pad = block - len(plain) % block
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


def decrypt(enc_msg: str, encoding_aes_key: str) -> str:
    """The message text inside an `enc_msg` (receiver side); PushFormatError when it is not one."""
    key = aes_key(encoding_aes_key)
    try:
        cipher_bytes = base64.b64decode(enc_msg, validate=True)
    except ValueError:
        raise PushFormatError("enc_msg is not base64") from None
    if not cipher_bytes or len(cipher_bytes) % 16:
        raise PushFormatError("enc_msg is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(cipher_bytes) + decryptor.finalize()
    if len(plain) < 20:
        raise PushFormatError("enc_msg is too short")
    length = int.from_bytes(plain[16:20], "big")
    if 20 + length > len(plain):
        raise PushFormatError("enc_msg length field exceeds the message")
    try:
        return plain[20:20 + length].decode("utf-8")
    except UnicodeDecodeError:
        raise PushFormatError("enc_msg does not decrypt to UTF-8 text (wrong key?)") from None


def raw_msg_text(body: str) -> str | None:
    """The exact JSON text of the top-level `msg` value in a push body, or None if absent.

    The signature covers the text as the platform wrote it, so it is cut out of the raw body
    rather than re-serialised (key order, spacing and escaping would differ).
    """
    decoder = json.JSONDecoder()
    i = _skip_ws(body, 0)
    if i >= len(body) or body[i] != "{":
        return None
    i = _skip_ws(body, i + 1)
    while i < len(body) and body[i] != "}":
        try:
            key, i = decoder.raw_decode(body, i)
        except ValueError:
            return None
        i = _skip_ws(body, i)
        if i >= len(body) or body[i] != ":":
            return None
        start = _skip_ws(body, i + 1)
        try:
            _, end = decoder.raw_decode(body, start)
        except ValueError:
            return None
        if key == "msg":
            return body[start:end]
        i = _skip_ws(body, end)
        if i < len(body) and body[i] == ",":
            i = _skip_ws(body, i + 1)
    return None


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def new_nonce() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(NONCE_CHARS))


def build_push_body(msg: Any, token: str, *, encoding_aes_key: str | None = None,
                    nonce: str | None = None, block: int = 16) -> str:
    """A push body as the platform sends it (emulator side): plaintext or secure mode."""
    nonce = nonce or new_nonce()
    text = json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
    if encoding_aes_key:
        enc = encrypt(text, encoding_aes_key, block=block)
        return json.dumps({"enc_msg": enc, "msg_signature": signature(token, nonce, enc),
                           "nonce": nonce}, separators=(",", ":"))
    sig = json.dumps(signature(token, nonce, text))
    return f'{{"msg":{text},"msg_signature":{sig},"nonce":{json.dumps(nonce)}}}'

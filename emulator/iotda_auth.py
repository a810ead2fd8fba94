"""IoTDA v5 errors and request authentication: AK/SK signatures (both schemes) or an IAM token.

With `iotda_ak`/`iotda_sk` set, every call must be signed as Huawei Cloud's SDK signs it
(docs/platforms.md, "IoTDA: authentication"), and this module checks the signature by
rebuilding it from the request as received:
- canonical request = method, canonical URI (each path segment percent-encoded, `~` kept, a
  trailing `/`), canonical query (pairs sorted, percent-encoded), the signed headers as
  `name:value` lines, the signed header names joined by `;`, and the hex SHA-256 of the body
  (of nothing when empty; the `X-Sdk-Content-Sha256` value when the request gives one);
- `SDK-HMAC-SHA256`: HMAC-SHA256(SK, "SDK-HMAC-SHA256\\n" + X-Sdk-Date + "\\n" + hex SHA-256 of
  the canonical request);
- `V11-HMAC-SHA256` (derived, for instance endpoints): the same canonical request; the scope
  `yyyyMMdd/region/service` goes into the string to sign after the date, and the key is the hex
  of HKDF-SHA256(IKM=SK, salt=AK, info=scope, 32 bytes).
X-Sdk-Date must be within `iotda_sign_skew_s` of the real clock (the signer uses the real one,
whatever the emulated clock says). Or the call carries an accepted IAM token in X-Auth-Token
(several can be valid at once: a new token does not invalidate older ones). Without a key and
without tokens, every call is accepted. HMAC and HKDF come from the standard library and
`cryptography`; only the canonical form is written here, because it is the thing under test.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from emulator.settings import Settings

#: error_code -> (HTTP status, error_msg). IOTDA.0000xx are Huawei's public common error codes;
#: the others are the emulator's choices (docs/platforms.md, "IoTDA: errors").
ERRORS = {
    "IOTDA.000006": (400, "Invalid input data."),
    "IOTDA.000008": (400, "Invalid input. Bad request, for more detail, refer to the error "
                          "message."),
    "IOTDA.000009": (400, "Invalid input. Invalid time format."),
    "IOTDA.000010": (400, "Invalid input. The start time must be earlier than the end time."),
    "IOTDA.000017": (400, "Invalid input. The specified parameter 'limit' is out of range."),
    "IOTDA.000018": (400, "Invalid input. The specified parameter 'offset' is out of range."),
    "IOTDA.000005": (403, "The project or instance does not match the credentials."),
    "IOTDA.014000": (404, "The device does not exist."),
    "IOTDA.014002": (404, "The command does not exist."),
    "APIG.0301": (401, "Incorrect IAM authentication information"),
    "APIG.0308": (429, "The throttling threshold has been reached:"),
    "APIG.0201": (503, "Backend unavailable."),
    "IOTDA.000001": (500, "Internal server error."),
}
SIGNED = "SDK-HMAC-SHA256"
DERIVED = "V11-HMAC-SHA256"
DERIVED_SERVICE = "iotdm"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SDK_DATE = "%Y%m%dT%H%M%SZ"
_AUTH = re.compile(r"^(?P<scheme>\S+) (?P<params>.+)$")


class IotdaError(Exception):
    """Raised by the IoTDA emulation to answer `{"error_code", "error_msg"}` with a 4xx/5xx."""

    def __init__(self, code: str, detail: str | None = None, status: int | None = None) -> None:
        known_status, msg = ERRORS.get(code, (400, "Invalid input data."))
        self.code, self.status = code, status or known_status
        self.msg = f"{msg} {detail}" if detail else msg
        super().__init__(f"{code}: {self.msg}")

    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "error_msg": self.msg}


def _refused(detail: str) -> IotdaError:
    return IotdaError("APIG.0301", detail)


def identity(headers: Mapping[str, str]) -> str | None:
    """Who a call says it is (the AK, or `token`), before any check: it counts for the rate
    limit even when its signature turns out wrong."""
    if headers.get("X-Auth-Token"):
        return "token"
    params = _auth_params(headers.get("Authorization", ""))
    access = params.get("Access") or params.get("Credential", "").partition("/")[0]
    return access or None


def authenticate(s: Settings, method: str, path: str, query: Iterable[tuple[str, str]],
                 headers: Mapping[str, str], body: bytes, now_s: float | None = None) -> None:
    """Raises 401/APIG.0301 unless the call is signed with the configured key (either scheme)
    or carries an accepted token; accepts everything when neither is configured."""
    token = headers.get("X-Auth-Token")
    if token and token in s.iotda_auth_tokens:
        return
    if not s.iotda_ak:
        if s.iotda_auth_tokens:
            raise _refused("the X-Auth-Token is not valid")
        return
    scheme, _, _ = headers.get("Authorization", "").partition(" ")
    if scheme not in (SIGNED, DERIVED):
        raise _refused("the request is not signed (Authorization: SDK-HMAC-SHA256 or "
                       "V11-HMAC-SHA256)")
    params = _auth_params(headers["Authorization"])
    signed = [h for h in params.get("SignedHeaders", "").split(";") if h]
    date = headers.get("X-Sdk-Date", "")
    if "x-sdk-date" not in signed or not params.get("Signature"):
        raise _refused("X-Sdk-Date must be signed")
    _check_fresh(date, s.iotda_sign_skew_s, time.time() if now_s is None else now_s)
    canonical = canonical_request(method, path, query, headers, signed, body)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if scheme == SIGNED:
        if params.get("Access") != s.iotda_ak:
            raise _refused("unknown access key")
        key = s.iotda_sk.encode("utf-8")
        to_sign = f"{SIGNED}\n{date}\n{digest}"
    else:
        ak, _, scope = params.get("Credential", "").partition("/")
        day, _, rest = scope.partition("/")
        region, _, service = rest.partition("/")
        if ak != s.iotda_ak:
            raise _refused("unknown access key")
        if day != date[:8] or service != DERIVED_SERVICE or not region \
                or (s.iotda_region and region != s.iotda_region):
            raise _refused(f"the credential scope {scope!r} is not valid here")
        key = derived_key(ak, s.iotda_sk, scope).encode("ascii")
        to_sign = f"{DERIVED}\n{date}\n{scope}\n{digest}"
    expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, params["Signature"]):
        raise _refused("verify aksk signature fail")


def derived_key(ak: str, sk: str, scope: str) -> str:
    """The derived scheme's signing key: hex of HKDF-SHA256(SK, salt=AK, info=scope)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ak.encode("utf-8"),
                info=scope.encode("utf-8"))
    return hkdf.derive(sk.encode("utf-8")).hex()


def canonical_request(method: str, path: str, query: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], signed: list[str], body: bytes) -> str:
    uri = "/".join(_encode(segment) for segment in path.split("/"))
    if not uri.endswith("/"):
        uri += "/"
    pairs = sorted((str(k), str(v)) for k, v in query)
    query_text = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)
    lines = "".join(f"{name}:{(headers.get(name) or '').strip()}\n" for name in signed)
    if not body:
        payload = EMPTY_SHA256
    else:
        payload = headers.get("X-Sdk-Content-Sha256") or hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), uri, query_text, lines, ";".join(signed), payload])


def _encode(text: str) -> str:
    return quote(text, safe="~")


def _auth_params(value: str) -> dict[str, str]:
    m = _AUTH.match(value.strip())
    if not m:
        return {}
    params = {}
    for part in m["params"].split(","):
        name, _, v = part.strip().partition("=")
        params[name] = v
    return params


def _check_fresh(date: str, skew_s: int, now_s: float) -> None:
    try:
        signed_at = datetime.strptime(date, SDK_DATE).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise _refused("X-Sdk-Date must be yyyyMMdd'T'HHmmss'Z'") from None
    if abs(now_s - signed_at) > skew_s:
        raise _refused("the signature has expired (X-Sdk-Date too far from now)")

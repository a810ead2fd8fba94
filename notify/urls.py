"""Which subscriber URLs cmdkeeper will send to: the SSRF guard at subscription time.

A subscriber URL must be https and must not resolve to a loopback, private, link-local,
multicast or otherwise reserved address, so that whoever may create a subscription cannot make
the workers reach the services beside them (a cloud metadata endpoint, Redis, an admin page).
NOTIFY_ALLOW_INSECURE=1 lifts both rules for dev, tests and the demo. The same rule holds again
at every delivery (notify/client.py: requests-hardened checks the address it connects to, so a
name that resolves elsewhere later is refused then too).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

#: Longest subscriber URL accepted.
MAX_URL_LENGTH = 2048


class RefusedUrl(ValueError):
    """Raised when a subscriber URL is malformed or points where cmdkeeper must not send."""


def forbidden(address: str) -> bool:
    """Whether a resolved address is one the guard refuses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified
            or any(ip in net for net in EXTRA_BLOCKED_NET_RANGES))


def check(url: str, *, allow_insecure: bool) -> str:
    """The URL if cmdkeeper may send to it; RefusedUrl saying why otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise RefusedUrl(f"url must be a string of 1-{MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise RefusedUrl(f"url is not a valid URL: {e}") from None
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes:
        raise RefusedUrl("url must be https" if not allow_insecure else
                         "url must be http or https")
    if not parts.hostname:
        raise RefusedUrl("url has no host")
    if parts.username or parts.password:
        raise RefusedUrl("url must not carry credentials; the deliveries are signed instead")
    if allow_insecure:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RefusedUrl(f"url's host {parts.hostname} does not resolve") from None
    bad = sorted({info[4][0] for info in infos if forbidden(info[4][0])})
    if bad:
        raise RefusedUrl(f"url's host {parts.hostname} resolves to a loopback, private or "
                         f"link-local address ({', '.join(bad)}); set NOTIFY_ALLOW_INSECURE=1 "
                         "only for development")
    return url

"""The HTTP sender of outbound webhooks, built on requests-hardened (made for exactly this).

requests-hardened resolves the subscriber's host, refuses loopback and private addresses at
connect time (so a name that resolved to a public address when the subscription was made and to
an internal one now is still refused), never follows a redirect, and has a default timeout. With
NOTIFY_ALLOW_INSECURE=1 (and for `listen` subscriptions) any address is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
import requests_hardened

#: (connect, read) timeout of one delivery, in seconds: a subscriber has 10 s to answer.
TIMEOUT_S = (3.05, 10.0)
USER_AGENT = "cmdkeeper-webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What one delivery attempt got: an HTTP status, or the error that kept it from one."""

    status: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return self.error or f"HTTP {self.status}"


class Sender:
    """POSTs deliveries over kept-alive sessions: one guarded, one for allowed local targets."""

    def __init__(self, *, allow_insecure: bool) -> None:
        self.allow_insecure = allow_insecure
        self._guarded = self._session(guarded=not allow_insecure)
        self._open = self._session(guarded=False)

    @staticmethod
    def _session(*, guarded: bool) -> requests.Session:
        return requests_hardened.Manager(requests_hardened.Config(
            ip_filter_enable=guarded, ip_filter_allow_loopback_ips=False, never_redirect=True,
            default_timeout=TIMEOUT_S, user_agent_override=USER_AGENT)).get_session()

    def post(self, url: str, data: str, headers: dict[str, str], *, local: bool = False) -> Answer:
        session = self._open if local else self._guarded
        try:
            response = session.post(url, data=data.encode(), headers=headers, timeout=TIMEOUT_S,
                                    allow_redirects=False)
        except requests_hardened.ip_filter.InvalidIPAddress:
            return Answer(None, "refused: the host resolves to a loopback or private address")
        except requests.Timeout:
            return Answer(None, f"no answer within {TIMEOUT_S[1]:g} s")
        except requests.RequestException as e:
            return Answer(None, f"{type(e).__name__}: cannot connect")
        response.close()
        return Answer(response.status_code)

"""Failures as the operator sees them: one line on stderr and an exit code per kind.

Exit codes: 0 done; 1 failed (a platform refused, some commands could not be handled);
2 usage (click's own: unknown platform, bad option); 3 not found (device, dead letter);
4 configuration (a platform not configured, a variable missing or malformed);
5 Redis unreachable. Messages name variables and hosts, never secret values.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import click

EXIT_FAILED = 1
EXIT_NOT_FOUND = 3
EXIT_CONFIG = 4
EXIT_REDIS = 5


class CliError(click.ClickException):
    """Raised by a command to stop with a one-line message and the exit code of its kind."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def describe_url(url: str) -> str:
    """A Redis URL fit to print: scheme, host, port and database; never the password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every configured secret replaced by `***` (for text from elsewhere, such as
    a dead letter's traceback)."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text

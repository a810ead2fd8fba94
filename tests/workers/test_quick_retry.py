"""Revocation retries a transient platform failure at once, but not throttling."""

from __future__ import annotations

import pytest

from platforms.errors import PermanentError, RetryableError, ThrottledError
from workers.revoke import QUICK_ATTEMPTS, quickly


def flaky(failures: list[Exception]):
    calls = []

    def call():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"

    return call, calls


def test_a_transient_failure_is_retried_at_once():
    call, calls = flaky([RetryableError("huawei", "100501", "congestion")])
    assert quickly(call, sleep=lambda s: None) == "done" and len(calls) == 2


def test_persistent_failure_is_raised_after_the_quick_attempts():
    call, calls = flaky([RetryableError("onenet", "7", "busy")] * 5)
    with pytest.raises(RetryableError):
        quickly(call, sleep=lambda s: None)
    assert len(calls) == QUICK_ATTEMPTS


@pytest.mark.parametrize("error", [ThrottledError("huawei", "1010009", "throttled"),
                                   PermanentError("huawei", "100418", "no device")])
def test_throttling_and_permanent_errors_are_not_retried_here(error):
    call, calls = flaky([error])
    with pytest.raises(type(error)):
        quickly(call, sleep=lambda s: None)
    assert len(calls) == 1

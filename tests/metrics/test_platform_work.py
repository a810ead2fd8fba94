"""Counting the work done against a platform (the emulator, over real HTTP): revocations by mode
and result, reconciliations and the missed callbacks they found, platform calls by operation and
outcome, token logins, rate-limiter waits; and the dashboard's fleet summary after it."""

from __future__ import annotations

import pytest

from cmdkeeper import metrics
from cmdkeeper.clock import ManualClock, system_clock
from cmdkeeper.config import Config
from cmdkeeper.metric_names import count_rate_limit_wait
from cmdkeeper.metrics import field
from platforms.factory import huawei_gateway
from store.metrics_flush import flush_now
from store.ratelimit import Priority, RateLimiter
from store.stats import read_fleet_stats
from tests.e2e.conftest import emu, emulator  # noqa: F401  (the emulator fixtures)
from workers import reconcile, revoke
from workers.create import CreateBody, create_command

HOUR_S = 3600


@pytest.fixture
def platform_config(config: Config, emu) -> Config:  # noqa: F811
    # callbacks go to a closed local port: cmdkeeper misses every one of them
    return config.with_(huawei_base_url=emu.url, huawei_app_id="demo-app",
                        huawei_secret="demo-secret", public_url="http://127.0.0.1:9")


@pytest.fixture
def gateway(platform_config, redis_client):
    return huawei_gateway(platform_config, redis_client, system_clock)


def create(store, platform_config, redis_client, device_id: str, *, age_s: float = 0) -> str:
    """A Huawei command created on the emulator and recorded, as if `age_s` seconds ago."""

    def clock() -> int:
        return system_clock() - int(age_s * 1000)

    gateway = huawei_gateway(platform_config, redis_client, clock)
    body = CreateBody("huawei", device_id, "Valve", "SET", {"open": 1}, expire_in_s=86_400,
                      stale_after_s=HOUR_S)
    return create_command(store, gateway, platform_config, body, clock).command_id


def revoke_fully(store, gateway, emu, device_id: str, **options) -> revoke.RevokeResult:  # noqa: F811
    """Revoke, and follow a cancel task to its end as the follow_cancel_task actor does."""
    result = revoke.revoke_device(store, gateway, device_id, system_clock, **options)
    for _ in range(10):
        if not result.task:
            break
        emu.client.advance(5)  # the emulated platform runs the task meanwhile
        result = revoke.follow_task(store, gateway, result.task, system_clock)
    assert not result.task
    return result


def counted() -> dict[str, float]:
    """What this process counted since the test began (and forget it)."""
    counts, _ = metrics.RECORDER.drain()
    return counts


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(pairs.items())


def test_single_revocations_platform_calls_and_login_are_counted(store, platform_config,
                                                                 redis_client, gateway, emu):  # noqa: F811
    # given a stale and a fresh command on one device
    emu.client.add_device("huawei", "dev-1", wake_period_s=0)
    stale = create(store, platform_config, redis_client, "dev-1", age_s=2 * HOUR_S)
    create(store, platform_config, redis_client, "dev-1")

    # when the stale one is revoked (the fresh one keeps it from a bulk cancel)
    result = revoke.revoke_device(store, gateway, "dev-1", system_clock)

    assert result.canceled == [stale] and not result.bulk
    counts = counted()
    assert counts[field("cmdkeeper_revocation_results_total", labels(
        platform="huawei", mode="single", result="canceled"))] == 1
    assert counts[field("cmdkeeper_revocations_total", labels(
        platform="huawei", reason="stale"))] == 1
    # it had been stale for an hour when the platform accepted its cancel
    lag = labels(platform="huawei", mode="single")
    assert counts[field("cmdkeeper_revocation_lag_seconds_count", lag)] == 1
    assert HOUR_S <= counts[field("cmdkeeper_revocation_lag_seconds_sum", lag)] < HOUR_S + 60
    assert counts[field("cmdkeeper_revocation_lag_seconds_bucket", lag + (("le", "+Inf"),))] == 1
    calls = "cmdkeeper_platform_calls_total"
    assert counts[field(calls, labels(platform="huawei", operation="create_command",
                                      outcome="ok"))] == 2
    assert counts[field(calls, labels(platform="huawei", operation="cancel_command",
                                      outcome="ok"))] == 1
    assert counts[field(calls, labels(platform="huawei", operation="login", outcome="ok"))] == 1
    assert counts[field("cmdkeeper_token_renewals_total", labels(
        platform="huawei", kind="login"))] == 1


def test_a_bulk_revocation_on_request_is_counted_as_requested(store, platform_config,
                                                              redis_client, gateway, emu):  # noqa: F811
    emu.client.add_device("huawei", "dev-2", wake_period_s=0)
    commands = {create(store, platform_config, redis_client, "dev-2") for _ in range(2)}
    counted()

    result = revoke_fully(store, gateway, emu, "dev-2", only_stale=False)

    assert set(result.canceled) == commands
    counts = counted()
    assert counts[field("cmdkeeper_revocation_results_total", labels(
        platform="huawei", mode="bulk", result="canceled"))] == 2
    assert counts[field("cmdkeeper_revocations_total", labels(
        platform="huawei", reason="requested"))] == 2
    # revoked before they were stale: no revocation was late
    assert not [k for k in counts if "revocation_lag" in k]


def test_reconciliation_counts_the_callbacks_it_found_missing(store, platform_config,
                                                              redis_client, gateway, emu):  # noqa: F811
    # given a command the device received while cmdkeeper missed every callback
    emu.client.add_device("huawei", "dev-3", wake_period_s=0)
    command_id = create(store, platform_config, redis_client, "dev-3")
    emu.client.wake("huawei", "dev-3")
    emu.client.advance(300)
    assert emu.client.command("huawei", command_id)["status"] == "SUCCESSFUL"
    counted()

    outcome = reconcile.reconcile_device(store, gateway, "dev-3", system_clock)

    assert outcome.corrections >= 1
    counts = counted()
    assert counts[field("cmdkeeper_reconciliations_total", labels(platform="huawei"))] == 1
    assert counts[field("cmdkeeper_reconcile_corrections_total", labels(
        platform="huawei", kind="missed_callback"))] == outcome.corrections
    assert counts[field("cmdkeeper_events_applied_total", labels(
        platform="huawei", source="reconcile", outcome="moved"))] == outcome.corrections


def test_the_fleet_summary_after_revoking_and_reconciling(store, platform_config, redis_client,
                                                         gateway, emu):  # noqa: F811
    for device in ("dev-4", "dev-5"):
        emu.client.add_device("huawei", device, wake_period_s=0)
    create(store, platform_config, redis_client, "dev-4", age_s=2 * HOUR_S)
    create(store, platform_config, redis_client, "dev-5", age_s=2 * HOUR_S)
    before = read_fleet_stats(redis_client, system_clock())
    assert (before.by_state["huawei"]["PENDING"], before.stale_awaiting_revocation) == (2, 2)

    revoke_fully(store, gateway, emu, "dev-4")
    reconcile.reconcile_device(store, gateway, "dev-5", system_clock)
    flush_now(redis_client)

    stats = read_fleet_stats(redis_client, system_clock())
    assert stats.by_state["huawei"]["CANCELED"] == 1
    assert stats.by_state["huawei"]["PENDING"] == 1
    assert stats.stale_awaiting_revocation == 1
    assert stats.revocations_last_hour == 1
    assert stats.reconciliations_last_hour == 1


def test_rate_limiter_waits_are_counted_with_their_seconds(redis_client):
    clock = ManualClock()

    def sleep(seconds: float) -> None:
        clock.advance(seconds)

    limiter = RateLimiter(redis_client, "huawei:demo-app", 1, clock=clock, sleep=sleep,
                          on_wait=count_rate_limit_wait)
    limiter.acquire(Priority.REVOKE)  # the one slot: no wait
    limiter.acquire(Priority.REVOKE, max_wait_s=120)  # waits for the window to move on
    with pytest.raises(Exception, match="no call budget"):
        limiter.acquire(Priority.BACKGROUND, max_wait_s=0)

    counts = counted()
    waits = "cmdkeeper_rate_limit_waits_total"
    assert counts[field(waits, labels(platform="huawei", priority="revoke",
                                      result="acquired"))] == 1
    assert counts[field(waits, labels(platform="huawei", priority="background",
                                      result="timed_out"))] == 1
    seconds = counts[field("cmdkeeper_rate_limit_wait_seconds_total", labels(
        platform="huawei", priority="revoke"))]
    assert 50 < seconds <= 62  # the rest of the minute-long window

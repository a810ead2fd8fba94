"""Failures are one line on stderr with an exit code of their kind, and never show a secret."""

from __future__ import annotations

from dev.procs import free_port
from store.commands import NewCommand
from tests.cli.conftest import now_ms

SECRET = "s3cret-never-shown"


def known_device(store) -> None:
    now = now_ms()
    store.create_command(NewCommand("huawei", "dev-1", "c1", "S", "M", {}, now, now + 60_000))


def test_unknown_platform_is_a_usage_error(run):
    result = run("commands", "acme", "dev-1")
    assert result.exit_code == 2 and "'acme' is not one of 'huawei', 'onenet'" in result.stderr


def test_unknown_device(run, redis_client):
    result = run("revoke", "huawei", "nobody")
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "Error: unknown device: cmdkeeper has no command of huawei device 'nobody'")


def test_redis_unreachable_names_the_host_but_not_the_password(run):
    url = f"redis://:{SECRET}@127.0.0.1:{free_port()}/0"
    result = run("sweep", "--dry-run", REDIS_URL=url)
    assert result.exit_code == 5 and "Redis unreachable at redis://127.0.0.1:" in result.stderr
    assert SECRET not in result.output


def test_missing_platform_credentials_are_named_not_shown(run, store):
    known_device(store)
    missing = run("revoke", "huawei", "dev-1", HUAWEI_BASE_URL="http://127.0.0.1:9",
                  HUAWEI_SECRET=SECRET)
    unset = run("reconcile", "onenet", "--all")

    assert missing.exit_code == 4 and "HUAWEI_APP_ID" in missing.stderr
    assert SECRET not in missing.output
    assert unset.exit_code == 4
    assert "onenet is not configured: set ONENET_BASE_URL and ONENET_API_KEY" in unset.stderr


def test_a_platform_that_cannot_be_reached_fails_the_device_not_the_run(run, store):
    known_device(store)
    result = run("reconcile", "huawei", "dev-1", HUAWEI_BASE_URL=f"http://127.0.0.1:{free_port()}",
                 HUAWEI_APP_ID="app", HUAWEI_SECRET=SECRET)
    assert result.exit_code == 1 and "huawei dev-1: failed: huawei error" in result.stdout
    assert SECRET not in result.output


def test_reconcile_needs_a_device_or_all(run):
    assert run("reconcile", "huawei").exit_code == 2
    assert run("reconcile", "huawei", "dev-1", "--all").exit_code == 2

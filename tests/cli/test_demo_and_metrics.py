"""The CLI against the demo: it takes the settings `bin/run` filled in (var/demo.env) when it
talks to the demo's Redis, and only then; what it revokes reaches the fleet's metrics before it
exits, and the record and the device say the CLI asked."""

from __future__ import annotations

from pathlib import Path

from cli.session import Session
from cmdkeeper.metrics import RECORDER
from dev import demo
from store import actions
from store.stats import read_snapshot

REVOKED = "cmdkeeper_revocations_total|platform=huawei|reason=stale"


def test_the_demo_settings_apply_only_on_the_demo_redis(tmp_path: Path, redis_url):
    var_dir = tmp_path / "var"
    env = {"HUAWEI_BASE_URL": "http://127.0.0.1:8999", "HUAWEI_APP_ID": "demo-app"}
    demo.write(var_dir, env, ["HUAWEI_BASE_URL", "HUAWEI_APP_ID"], redis_url)
    assert (demo.file_path(var_dir).stat().st_mode & 0o777) == 0o600

    on_demo = Session(env={"REDIS_URL": redis_url, "CMDKEEPER_VAR_DIR": str(var_dir)})
    assert on_demo.config.huawei_base_url == "http://127.0.0.1:8999" and on_demo.uses_demo
    # what the shell says still wins
    mine = Session(env={"REDIS_URL": redis_url, "CMDKEEPER_VAR_DIR": str(var_dir),
                        "HUAWEI_BASE_URL": "http://mine"})
    assert mine.config.huawei_base_url == "http://mine"
    elsewhere = Session(env={"REDIS_URL": "redis://127.0.0.1:1/0",
                             "CMDKEEPER_VAR_DIR": str(var_dir)})
    assert elsewhere.config.huawei_base_url == "" and not elsewhere.uses_demo
    demo.remove(var_dir)  # bin/run stopped
    assert Session(env={"REDIS_URL": redis_url, "CMDKEEPER_VAR_DIR": str(var_dir)}
                   ).config.huawei_base_url == ""


def test_a_cli_revocation_is_counted_and_says_who_asked(run, emu, huawei_env, store,
                                                       redis_client, create_on_platform):
    RECORDER.drain()  # what earlier tests counted in this process is not this one's
    emu.client.add_device("huawei", "dev-cli", wake_period_s=0)
    stale = create_on_platform("dev-cli", age_s=7200)
    create_on_platform("dev-cli")  # a fresh one: the stale one goes on its own

    result = run("revoke", "huawei", "dev-cli", **huawei_env)

    assert result.exit_code == 0, result.output
    # counted in the CLI's process, and in Redis once the command returned
    assert read_snapshot(redis_client, 0).counters.get(REVOKED) == 1
    assert store.get("huawei", stale)["revoke_requested_by"] == "cli"
    [asked] = actions.read(redis_client, "huawei", "dev-cli")
    assert (asked.by, asked.action) == ("cli", "revoke")

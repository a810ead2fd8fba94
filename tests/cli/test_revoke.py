"""`revoke PLATFORM DEVICE` against the emulator: commands created on the platform and in the
store are cancelled on both sides; a bulk cancel task is followed, or handed to a worker."""

from __future__ import annotations

from store import keys
from tests.cli.conftest import queued_jobs

TWO_HOURS_S = 7200


def platform_status(emu, command_id: str) -> str:
    return emu.client.command("huawei", command_id)["status"]


def test_all_stale_commands_go_in_one_followed_cancel_task(run, emu, huawei_env, store,
                                                          create_on_platform):
    emu.client.add_device("huawei", "dev-all", wake_period_s=0)
    stale = [create_on_platform("dev-all", age_s=TWO_HOURS_S) for _ in range(2)]
    emu.client.set_speed(100)  # the task ends a few emulated seconds after it starts

    result = run("revoke", "huawei", "dev-all", **huawei_env)

    assert result.exit_code == 0, result.output
    assert "one bulk cancel" in result.stdout
    [cancelled] = [line for line in result.stdout.splitlines() if line.startswith("cancelled:")]
    assert sorted(cancelled.split(":", 1)[1].strip().split(", ")) == sorted(stale)
    assert all(store.get("huawei", c)["state"] == "CANCELED" for c in stale)
    assert all(platform_status(emu, c) == "CANCELED" for c in stale)


def test_only_stale_ones_are_cancelled_one_by_one_unless_all(run, emu, huawei_env, store,
                                                          create_on_platform):
    emu.client.add_device("huawei", "dev-mix", wake_period_s=0)
    stale = create_on_platform("dev-mix", age_s=TWO_HOURS_S)
    fresh = create_on_platform("dev-mix")

    first = run("revoke", "huawei", "dev-mix", **huawei_env)
    again = run("revoke", "huawei", "dev-mix", **huawei_env)

    assert first.exit_code == 0, first.output
    assert "one by one" in first.stdout and f"cancelled:        {stale}" in first.stdout
    assert store.get("huawei", stale)["state"] == "CANCELED"
    assert platform_status(emu, stale) == "CANCELED"
    assert store.get("huawei", fresh)["state"] == "PENDING"
    assert platform_status(emu, fresh) == "PENDING"
    assert again.exit_code == 0 and "Nothing to revoke" in again.stdout

    emu.client.set_speed(100)  # the last PENDING one goes in a cancel task: let it end
    every = run("revoke", "huawei", "dev-mix", "--all", **huawei_env)

    assert every.exit_code == 0, every.output
    assert "one bulk cancel" in every.stdout and f"cancelled:        {fresh}" in every.stdout
    assert store.get("huawei", fresh)["state"] == "CANCELED"
    assert platform_status(emu, fresh) == "CANCELED"


def test_a_task_still_running_is_handed_to_a_worker(run, emu, huawei_env, store, redis_client,
                                                    create_on_platform):
    emu.client.add_device("huawei", "dev-slow", wake_period_s=0)
    stale = create_on_platform("dev-slow", age_s=TWO_HOURS_S)
    # the emulator's clock stands still: the task cannot end while the CLI looks

    result = run("revoke", "huawei", "dev-slow", "--wait", "0", **huawei_env)

    assert result.exit_code == 0, result.output
    assert "a worker follows it" in result.stdout
    [(actor, args, _)] = queued_jobs(redis_client)
    assert actor == "follow_cancel_task" and args[:2] == ("huawei", "dev-slow")
    # the task still holds the device, so no creation slips into it; the command waits
    assert redis_client.get(keys.device_lock("huawei", "dev-slow")) == args[3]
    assert store.get("huawei", stale)["state"] == "PENDING"


def test_a_command_the_platform_sent_unseen_is_parked_not_bulk_cancelled_again(
        run, emu, store, redis_client, create_on_platform):
    device = "869975031299991"
    emu.client.add_device("onenet", device, wake_period_s=0)
    emu.client.set_faults(drop_p=1.0)  # its pushes are lost: cmdkeeper still sees PENDING
    sent = create_on_platform(device, age_s=TWO_HOURS_S, platform="onenet")
    emu.client.wake("onenet", device)
    emu.client.advance(120)  # it takes the command, then falls asleep again
    assert emu.client.command("onenet", sent)["sent"]
    waiting = create_on_platform(device, age_s=TWO_HOURS_S, platform="onenet")
    env = {"ONENET_BASE_URL": emu.url, "ONENET_API_KEY": "demo-onenet-key"}

    first = run("revoke", "onenet", device, **env)
    again = run("revoke", "onenet", device, **env)

    assert first.exit_code == 0, first.output
    assert "one bulk cancel" in first.stdout
    assert store.get("onenet", waiting)["state"] == "CANCELED"
    # cancel-all did not mention it: not cancellable, and the device's history is asked instead
    assert store.get("onenet", sent)["state"] == "PENDING"
    assert f"not cancellable:  {sent}" in first.stdout
    due = redis_client.zscore(keys.DUE_RECONCILE, keys.device_tag("onenet", device))
    assert due is not None
    assert again.exit_code == 0 and "Nothing to revoke" in again.stdout


def test_iotda_held_commands_are_revoked_in_cmdkeeper_without_a_platform_call(run, emu, store):
    from store.commands import NewCommand
    from store.model import HELD_STATUS

    now, hour = emu.client.now_ms(), 3_600_000
    # one on the platform (in flight), and one held behind it that went stale an hour ago
    store.create_command(NewCommand("iotda", "dev-held", "ck-0", "Valve", "SET", {}, now - hour,
                                    now + hour, platform_command_id="p-0"), in_flight_limit=1)
    assert store.hold_unless_room(NewCommand(
        "iotda", "dev-held", "ck-1", "Valve", "SET", {}, now - 2 * hour, now - hour,
        platform_status=HELD_STATUS), in_flight_limit=1, supersede=False, now_ms=now)[0]
    env = {"IOTDA_ENDPOINT": emu.url, "IOTDA_PROJECT_ID": "demo-project", "IOTDA_AK": "demo-ak",
           "IOTDA_SK": "demo-sk-0123456789"}

    result = run("revoke", "iotda", "dev-held", **env)

    assert result.exit_code == 0, result.output
    assert "held back in cmdkeeper: no platform call" in result.stdout
    assert "cancelled:        ck-1" in result.stdout
    record = store.get("iotda", "ck-1")
    assert (record["state"], record["platform_status"]) == ("CANCELED", HELD_STATUS)
    assert store.get("iotda", "ck-0")["state"] == "PENDING"  # the platform's to expire
    assert emu.client.calls("iotda") == []

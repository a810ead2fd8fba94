"""`reconcile PLATFORM (DEVICE | --all)` against the emulator: commands whose callbacks never
arrived are corrected from the platform's history, taking slots from the shared budget."""

from __future__ import annotations

from store import keys


def fleet(emu, create_on_platform) -> dict[str, str]:
    """Three devices with a command each; the first two woke and ran theirs, unreported."""
    commands = {}
    for device in ("d1", "d2", "d3"):
        emu.client.add_device("huawei", device, wake_period_s=0)
        commands[device] = create_on_platform(device)
    for device in ("d1", "d2"):
        emu.client.wake("huawei", device)
    emu.client.advance(300)
    assert [emu.client.command("huawei", commands[d])["status"] for d in ("d1", "d2", "d3")] == [
        "SUCCESSFUL", "SUCCESSFUL", "PENDING"]
    return commands


def test_reconcile_all_corrects_every_device_with_a_progress_bar(
        run, emu, huawei_env, store, redis_client, create_on_platform):
    commands = fleet(emu, create_on_platform)

    result = run("reconcile", "huawei", "--all", "--yes", **huawei_env)

    assert result.exit_code == 0, result.output
    assert "Reconciling 3 huawei device(s)" in result.stderr
    out = result.stdout
    for device in ("d1", "d2"):
        assert f"huawei {device}: 1 command(s) in history, 1 correction(s)" in out
        assert f"  {commands[device]}  PENDING -> SUCCEEDED" in out
        assert store.get("huawei", commands[device])["state"] == "SUCCEEDED"
    assert "huawei d3: 1 command(s) in history, no correction(s)" in out
    assert "Reconciled 3 of 3 device(s): 2 correction(s)." in out
    # the CLI took its platform calls from the budget every process shares
    assert redis_client.zcard(keys.rate_window("huawei:demo-app")) >= 3


def test_one_device_and_a_declined_question(run, emu, huawei_env, store, create_on_platform):
    commands = fleet(emu, create_on_platform)
    calls_before = len(emu.client.calls("huawei"))

    declined = run("reconcile", "huawei", "--all", input="n\n", **huawei_env)

    assert declined.exit_code == 1 and "Reconcile 3 huawei device(s)?" in declined.output
    assert len(emu.client.calls("huawei")) == calls_before
    assert store.get("huawei", commands["d1"])["state"] == "PENDING"

    one = run("reconcile", "huawei", "d1", **huawei_env)

    assert one.exit_code == 0, one.output
    assert store.get("huawei", commands["d1"])["state"] == "SUCCEEDED"
    assert store.get("huawei", commands["d2"])["state"] == "PENDING"

"""`sweep --dry-run` shows what the clock would hand out and claims nothing; `sweep` claims and
enqueues what is due now, like the clock."""

from __future__ import annotations

import json

from store import keys
from store.commands import NewCommand
from tests.cli.conftest import now_ms, queued_jobs
from workers.clock import CLAIM_LEASE_MS

HOUR_MS = 3_600_000


def fleet(store) -> int:
    """A stale device, one going stale within the sweep interval, a fresh one, and a device
    with an explicit reconcile request."""
    now = now_ms()
    store.create_command(NewCommand("huawei", "dev-stale", "c-stale", "S", "M", {},
                                    now - 2 * HOUR_MS, now - HOUR_MS))
    store.create_command(NewCommand("huawei", "dev-soon", "c-soon", "S", "M", {}, now,
                                    now + 10_000))
    store.create_command(NewCommand("onenet", "dev-fresh", "c-fresh", "S", "M", {}, now,
                                    now + HOUR_MS))
    store.request_reconcile("onenet", "dev-req", now - 1000)
    return now


def due_sets(redis_client) -> tuple[list, list]:
    return (redis_client.zrange(keys.DUE_REVOKE, 0, -1, withscores=True),
            redis_client.zrange(keys.DUE_RECONCILE, 0, -1, withscores=True))


def test_dry_run_lists_due_devices_and_their_stale_commands_and_claims_nothing(
        run, store, redis_client):
    fleet(store)
    before = due_sets(redis_client)

    text = run("sweep", "--dry-run")
    plan = json.loads(run("sweep", "--dry-run", "--json").stdout)

    assert text.exit_code == 0, text.output
    assert "huawei:dev-stale" in text.stdout and "c-stale" in text.stdout
    assert "dev-fresh" not in text.stdout
    assert due_sets(redis_client) == before
    revoke = {r["device_id"]: r for r in plan["revoke"]}
    assert set(revoke) == {"dev-stale", "dev-soon"}
    assert revoke["dev-stale"]["stale"] == ["c-stale"] and revoke["dev-stale"]["due_now"]
    assert not revoke["dev-soon"]["due_now"]
    assert [u["command_id"] for u in revoke["dev-soon"]["upcoming"]] == ["c-soon"]
    reconcile = {r["device_id"]: r for r in plan["reconcile"]}
    assert set(reconcile) == {"dev-stale", "dev-req"}
    assert reconcile["dev-req"]["requested"] and reconcile["dev-stale"]["quiet"] == ["c-stale"]


def test_a_real_sweep_claims_what_is_due_now_and_enqueues_it(run, store, redis_client):
    now = fleet(store)

    result = run("sweep")

    assert result.exit_code == 0, result.output
    jobs = sorted((actor, args[1]) for actor, args, _ in queued_jobs(redis_client))
    assert jobs == [("reconcile_device", "dev-req"), ("reconcile_device", "dev-stale"),
                    ("revoke_device", "dev-stale")]
    # claimed devices are leased; the one going stale later is left to the clock
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:dev-stale") >= now + CLAIM_LEASE_MS
    assert redis_client.zscore(keys.DUE_REVOKE, "huawei:dev-soon") == now + 10_000

"""`dead-letters list | replay`: real dramatiq dead letters (jobs nack-ed through dramatiq's
Redis broker, as a worker does when a job fails for good), re-checked before replay."""

from __future__ import annotations

import time

import pytest
from dramatiq import Broker

from store import keys
from store.commands import NewCommand
from store.dead_letters import list_dead
from store.model import Event, Source, State
from tests.cli.conftest import now_ms, queued_jobs
from workers import broker as workers_broker
from workers.broker import NAMESPACE

HOUR_MS = 3_600_000


@pytest.fixture
def broker(config, redis_client) -> Broker:
    configured = workers_broker.configure(config)
    import workers.actors  # noqa: F401  (declares the actors on it)

    return configured


def dead_letter(broker: Broker, actor, *args, **options) -> str:
    """Send a job, fetch it and nack it: dramatiq moves it to the dead-letter set."""
    sent = actor.send_with_options(args=args, **options)
    consumer = broker.consume(actor.queue_name, prefetch=1, timeout=100)
    deadline = time.monotonic() + 10
    while (proxy := next(consumer)) is None or proxy.message_id != sent.message_id:
        assert time.monotonic() < deadline, "the sent job never came back from the queue"
    consumer.nack(proxy)
    consumer.close()
    return proxy.options["redis_message_id"]


def all_dead(redis_client, broker) -> set[str]:
    return {letter.id for q in broker.get_declared_queues()
            for letter in list_dead(redis_client, NAMESPACE, q)}


@pytest.fixture
def letters(broker, store, redis_client) -> dict[str, str]:
    """One dead job still wanted and three whose work is done or moot by now."""
    from workers import actors

    now = now_ms()
    store.create_command(NewCommand("huawei", "dev-done", "c-done", "S", "M", {}, now - HOUR_MS,
                                    now))
    store.apply_event(Event("huawei", "dev-done", "c-done", State.SUCCEEDED, "SUCCESSFUL", now,
                            Source.CALLBACK), now)
    store.create_command(NewCommand("huawei", "dev-calm", "c-calm", "S", "M", {}, now,
                                    now + HOUR_MS))
    store.create_command(NewCommand("huawei", "dev-heard", "c-heard", "S", "M", {},
                                    now - HOUR_MS, now + HOUR_MS))
    store.request_reconcile("huawei", "dev-req", now)
    ids = {
        "wanted": dead_letter(broker, actors.reconcile_device, "huawei", "dev-req", True,
                              retries=5),
        "past_event": dead_letter(broker, actors.apply_event, Event(
            "huawei", "dev-done", "c-done", State.SENT, "SENT", now - 1000,
            Source.CALLBACK).to_message()),
        "nothing_stale": dead_letter(broker, actors.revoke_device, "huawei", "dev-calm"),
        "heard_since": dead_letter(broker, actors.reconcile_device, "huawei", "dev-heard"),
    }
    # dev-heard's command had news after its reconcile was asked
    store.apply_event(Event("huawei", "dev-heard", "c-heard", State.SENT, "SENT", now_ms(),
                            Source.CALLBACK), now_ms() + 1000)
    return ids


def test_list_shows_each_dead_job(run, letters):
    result = run("dead-letters", "list")

    assert result.exit_code == 0, result.output
    for message_id in letters.values():
        assert message_id in result.stdout
    assert "reconcile_device('huawei', 'dev-req', True)" in result.stdout
    assert "apply_event(huawei dev-done c-done -> SENT)" in result.stdout


def test_dry_run_replay_changes_nothing(run, letters, redis_client, broker):
    result = run("dead-letters", "replay", "--all", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "1 replayed, 3 dropped, 0 kept" in result.stdout
    assert all_dead(redis_client, broker) == set(letters.values())
    assert queued_jobs(redis_client) == []


def test_replay_keeps_the_wanted_job_and_drops_the_others_with_reasons(
        run, letters, redis_client, broker):
    result = run("dead-letters", "replay", "--all")

    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.stdout.splitlines()[1:-1]}
    assert lines[letters["wanted"]].startswith("replay")
    assert "requested" in lines[letters["wanted"]]
    assert "already SUCCEEDED" in lines[letters["past_event"]]
    assert "no stale PENDING command" in lines[letters["nothing_stale"]]
    assert "had news since" in lines[letters["heard_since"]]
    assert all(lines[letters[k]].startswith("drop")
               for k in ("past_event", "nothing_stale", "heard_since"))
    assert all_dead(redis_client, broker) == set()
    assert queued_jobs(redis_client) == [("reconcile_device", ("huawei", "dev-req", True), {})]
    from workers.actors import reconcile_device

    queue = reconcile_device.queue_name
    replayed = redis_client.hget(keys.dramatiq_queue_messages(NAMESPACE, queue),
                                 redis_client.lindex(keys.dramatiq_queue(NAMESPACE, queue), 0))
    assert '"retries"' not in replayed  # a replay starts with fresh retries


def test_replay_by_id_touches_only_that_one_and_an_unknown_id_is_an_error(
        run, letters, redis_client, broker):
    result = run("dead-letters", "replay", "--id", letters["past_event"])
    missing = run("dead-letters", "replay", "--id", "no-such-id")

    assert result.exit_code == 0, result.output
    assert all_dead(redis_client, broker) == set(letters.values()) - {letters["past_event"]}
    assert missing.exit_code == 3 and "no dead letter with id no-such-id" in missing.stderr

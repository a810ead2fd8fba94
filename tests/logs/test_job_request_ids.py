"""The request id travels with jobs: from what enqueued a message to the job that runs it, to
the jobs that job enqueues, through retries. On dramatiq's stub broker, with a real worker.

Given actors on a broker with `CarryRequestId`, when a message is sent with a request id
current, then the job sees that id while it runs, a job it sends sees it too, a retry keeps it,
and a message sent with no id current runs with none.
"""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from cmdkeeper import request_ids
from dev.procs import wait_until
from workers.broker import REQUEST_ID_OPTION, CarryRequestId


@pytest.fixture
def stub():
    broker = StubBroker(middleware=[CarryRequestId(), Retries(min_backoff=1, max_backoff=1)])
    broker.emit_after("process_boot")
    seen: list[tuple[str, str | None]] = []

    @dramatiq.actor(broker=broker, max_retries=1)
    def child(fail_first: bool = False) -> None:
        seen.append(("child", request_ids.current()))
        if fail_first and len([s for s in seen if s[0] == "child"]) == 1:
            raise RuntimeError("first try fails")

    @dramatiq.actor(broker=broker)
    def parent() -> None:
        seen.append(("parent", request_ids.current()))
        child.send(fail_first=True)

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    yield broker, parent, seen
    worker.stop()
    request_ids.set_current(None)


def test_the_id_goes_from_sender_to_job_to_its_jobs_and_their_retries(stub):
    broker, parent, seen = stub
    request_ids.set_current("abc123")
    message = parent.send()
    request_ids.set_current(None)
    wait_until(lambda: len(seen) == 3, 10, "the parent, the child and the child's retry ran")

    assert message.options[REQUEST_ID_OPTION] == "abc123"
    assert seen == [("parent", "abc123"), ("child", "abc123"), ("child", "abc123")]


def test_a_message_sent_without_an_id_runs_without_one(stub):
    broker, parent, seen = stub
    message = parent.send()
    broker.join("default", fail_fast=False, timeout=10_000)

    assert REQUEST_ID_OPTION not in message.options
    assert seen[0] == ("parent", None)

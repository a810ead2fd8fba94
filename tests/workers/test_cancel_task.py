"""A running bulk cancel as one value: its schedule of looks, and its message, which keeps the
shape earlier versions queued (messages queued before an upgrade and dead letters replayed)."""

from __future__ import annotations

from dramatiq import Message

from store.commands import NewCommand
from workers import actors, broker
from workers.cancel_task import FIRST_POLL_MS, MAX_POLL_MS, MAX_POLLS, CancelTask
from workers.replay import Decision, params_of, still_wanted

T0 = 1_700_000_000_000
TASK = CancelTask("huawei", "d1", "t1", "revoke:abc", ("c1", "c2"))


def test_looks_come_after_doubling_delays_up_to_the_longest():
    delays = []
    task = TASK
    while not task.out_of_looks:
        delays.append(task.next_delay_ms)
        task = task.looked()

    assert delays[:6] == [FIRST_POLL_MS, 2_000, 4_000, 8_000, 16_000, MAX_POLL_MS]
    assert set(delays[5:]) == {MAX_POLL_MS}
    # the first look and MAX_POLLS more, then it is given up
    assert len(delays) == 1 + MAX_POLLS and task.polls == 1 + MAX_POLLS


def test_a_huge_count_of_looks_still_gives_the_longest_delay():
    assert CancelTask("huawei", "d1", "t1", None, polls=10**9).next_delay_ms == MAX_POLL_MS


def test_a_look_counts_without_changing_anything_else():
    looked = TASK.looked()

    assert looked.polls == TASK.polls + 1
    assert (looked.task_id, looked.lock_owner, looked.targets) == ("t1", "revoke:abc",
                                                                   ("c1", "c2"))


def test_its_message_is_the_shape_earlier_versions_queued():
    assert TASK.looked().to_message() == {"args": ("huawei", "d1", "t1", "revoke:abc", 1),
                                          "kwargs": {"targets": ["c1", "c2"]}}


def encoded_and_back(message: Message) -> Message:
    """The message as a worker (or a replay) reads it from the queue."""
    return Message.decode(message.encode())


def test_a_message_sent_reads_back_as_the_same_task():
    sent = actors.follow_cancel_task.message_with_options(**TASK.looked().to_message())

    params = params_of(broker.current(), encoded_and_back(sent))

    assert CancelTask.from_message(**params) == TASK.looked()


def test_messages_of_earlier_versions_still_read():
    # as queued by an earlier version: targets by name, and before that, none at all
    with_targets = Message(queue_name=actors.REVOKE_QUEUE, actor_name="follow_cancel_task",
                           args=("huawei", "d1", "t1", "revoke:abc", 3),
                           kwargs={"targets": ["c1"]}, options={})
    without = Message(queue_name=actors.REVOKE_QUEUE, actor_name="follow_cancel_task",
                      args=("huawei", "d1", "t1", None), kwargs={}, options={})

    old = CancelTask.from_message(**params_of(broker.current(), encoded_and_back(with_targets)))
    oldest = CancelTask.from_message(**params_of(broker.current(), encoded_and_back(without)))

    assert old == CancelTask("huawei", "d1", "t1", "revoke:abc", ("c1",), polls=3)
    assert oldest == CancelTask("huawei", "d1", "t1", None, (), polls=0)


def test_a_dead_letter_of_a_task_is_rechecked_from_its_message(store):
    store.create_command(NewCommand("huawei", "d1", "c1", "S", "M", {}, T0, T0 + 60_000))
    dead = encoded_and_back(actors.follow_cancel_task.message_with_options(**TASK.to_message()))

    verdict = still_wanted(store, "follow_cancel_task", params_of(broker.current(), dead), T0,
                           T0)

    assert verdict.decision is Decision.REPLAY

"""Key builders of the metrics, one line each; dramatiq's queue names kept in step with the
broker and the actors."""

from store import keys


def test_command_states_key():
    assert keys.command_states("huawei") == "ck:stats:huawei:states"


def test_pending_sets():
    assert (keys.pending_by_creation("onenet"), keys.pending_by_stale_at("onenet")) == (
        "ck:stats:onenet:pending", "ck:stats:onenet:stale")


def test_counter_keys():
    assert (keys.METRIC_COUNTERS, keys.metric_minute(28_333_333)) == (
        "ck:metrics", "ck:metrics:minute:28333333")


def test_work_queue_keys_are_dramatiqs_own():
    assert keys.work_queue_keys("cmdkeeper") == (
        "dramatiq:cmdkeeper", "dramatiq:cmdkeeper.DQ", "dramatiq:cmdkeeper.XQ")


def test_every_actor_queue_is_counted_in_queue_depth():
    from workers import actors, broker

    declared = {broker.current().get_actor(name).queue_name
                for name in broker.current().get_declared_actors()}
    assert actors.QUEUE in declared
    assert declared <= set(keys.WORK_QUEUES)
    assert keys.DRAMATIQ_NAMESPACE == broker.NAMESPACE

"""Key builders: one line each, so a drifting name fails here first."""

from store import keys


def test_command_key_carries_the_device_hash_tag():
    assert keys.command("huawei", "d1", "c1") == "ck:{huawei:d1}:cmd:c1"


def test_device_commands_key():
    assert keys.device_commands("onenet", "8699") == "ck:{onenet:8699}:cmds"


def test_device_stale_key():
    assert keys.device_stale("huawei", "d1") == "ck:{huawei:d1}:stale"


def test_device_quiet_key():
    assert keys.device_quiet("huawei", "d1") == "ck:{huawei:d1}:quiet"


def test_dedupe_key():
    assert keys.dedupe("huawei", "d1", "c1", "SENT") == "ck:{huawei:d1}:seen:c1:SENT"


def test_command_index_bucket_is_stable_and_bounded():
    key = keys.command_device_index("huawei", "c1")
    assert key == keys.command_device_index("huawei", "c1")
    assert key.startswith("ck:c2d:huawei:")
    assert 0 <= int(key.rsplit(":", 1)[1]) < keys.COMMAND_INDEX_BUCKETS


def test_device_tag():
    assert keys.device_tag("huawei", "d1") == "huawei:d1"


def test_fleet_indexes():
    assert (keys.DUE_REVOKE, keys.DUE_RECONCILE, keys.CLOCK_LOCK) == (
        "ck:due:revoke", "ck:due:reconcile", "ck:clock:lock")


def test_dramatiq_queue_keys_match_dramatiq():
    assert keys.dramatiq_queue("dramatiq", "cmdkeeper") == "dramatiq:cmdkeeper"
    assert keys.dramatiq_queue_messages("dramatiq", "cmdkeeper") == "dramatiq:cmdkeeper.msgs"


def test_retention_keys():
    assert keys.device_final("huawei", "d1") == "ck:{huawei:d1}:final"
    assert (keys.DUE_RETAIN, keys.REMOVED) == ("ck:due:retain", "ck:removed")


def test_feed_keys():
    assert (keys.EVENTS, keys.EVENTS_SEQ, keys.EVENTS_TRIMMED) == (
        "ck:events", "ck:events:n", "ck:events:trimmed")


def test_subscription_keys():
    assert keys.SUBSCRIPTIONS == "ck:subs"
    assert keys.subscription("sub_1") == "ck:sub:sub_1"
    assert keys.subscription_lock("sub_1") == "ck:sub:sub_1:lock"
    assert keys.deliveries("onenet", "imei") == "ck:{onenet:imei}:dlv"


def test_metric_bucket_keys():
    assert keys.metric_minute(7) == "ck:metrics:minute:7"
    assert keys.metric_five(7) == "ck:metrics:5min:7"


def test_device_actions_key():
    assert keys.device_actions("huawei", "d1") == "ck:{huawei:d1}:asked"


def test_device_held_key():
    assert keys.device_held("iotda", "d1") == "ck:{iotda:d1}:held"


def test_device_in_flight_key():
    assert keys.device_in_flight("iotda", "d1") == "ck:{iotda:d1}:inflight"


def test_device_platform_ids_key():
    assert keys.device_platform_ids("iotda", "d1") == "ck:{iotda:d1}:pids"


def test_due_release_index():
    assert keys.DUE_RELEASE == "ck:due:release"

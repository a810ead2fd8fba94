"""dramatiq's dead-letter keys, and reading and removing dead letters."""

from __future__ import annotations

from store import keys
from store.dead_letters import list_dead, remove_dead


def test_dead_letter_keys_are_dramatiqs():
    assert keys.dramatiq_dead_letters("dramatiq", "cmdkeeper") == "dramatiq:cmdkeeper.XQ"
    assert keys.dramatiq_dead_letter_messages("dramatiq", "q") == "dramatiq:q.XQ.msgs"


def test_list_reads_oldest_first_and_remove_takes_both_keys(redis_client):
    # given two dead letters as dramatiq's nack leaves them
    redis_client.zadd("dramatiq:q.XQ", {"m2": 2000, "m1": 1000})
    redis_client.hset("dramatiq:q.XQ.msgs", mapping={"m1": '{"a":1}', "m2": '{"a":2}'})

    letters = list_dead(redis_client, "dramatiq", "q")
    assert [(d.id, d.dead_at_ms, d.data) for d in letters] == [
        ("m1", 1000, b'{"a":1}'), ("m2", 2000, b'{"a":2}')]
    assert [d.id for d in list_dead(redis_client, "dramatiq", "q", ["m2", "nope"])] == ["m2"]

    assert remove_dead(redis_client, "dramatiq", "q", ["m1"]) == 1
    assert redis_client.zrange("dramatiq:q.XQ", 0, -1) == ["m2"]
    assert redis_client.hkeys("dramatiq:q.XQ.msgs") == ["m2"]

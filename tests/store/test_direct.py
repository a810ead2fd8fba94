"""Script calls on connections of their own (store/direct.py) answer as redis-py's client does.

Given a real Redis, when a script runs through `DirectConnections` (sequentially, from many
threads at once, after SCRIPT FLUSH, after its link was killed, after a call was interrupted
mid-way, in a forked child), then each call gets its own reply, error replies are raised as
they are, and a link is reused only once its reply was read in full.
"""

from __future__ import annotations

import threading

import pytest
import redis

from store.direct import DirectConnections

ECHO = "return ARGV[1]"
FAIL = "return redis.error_reply('ERR no good')"


@pytest.fixture
def direct(redis_client) -> DirectConnections:
    return DirectConnections(redis_client)


def echo(redis_client, direct: DirectConnections, value: str) -> str:
    return direct.run(redis_client.register_script(ECHO), [], [value])


def test_a_script_runs_and_its_link_is_kept_for_the_next_call(redis_client, direct):
    assert [echo(redis_client, direct, str(i)) for i in range(5)] == ["0", "1", "2", "3", "4"]
    assert len(direct._idle) == 1


def test_each_thread_gets_its_own_reply(redis_client, direct):
    wrong: list[tuple[str, str]] = []

    def calls(t: int) -> None:
        for i in range(200):
            value = f"{t}-{i}"
            if (got := echo(redis_client, direct, value)) != value:
                wrong.append((value, got))

    threads = [threading.Thread(target=calls, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert 1 <= len(direct._idle) <= 8


def test_a_flushed_script_is_loaded_again(redis_client, direct):
    assert echo(redis_client, direct, "a") == "a"
    redis_client.script_flush()
    assert echo(redis_client, direct, "b") == "b"


def test_an_error_reply_is_raised_and_the_link_stays_usable(redis_client, direct):
    with pytest.raises(redis.ResponseError, match="no good"):
        direct.run(redis_client.register_script(FAIL), [], [])
    assert echo(redis_client, direct, "after") == "after"


def test_a_killed_link_is_reconnected_and_the_call_retried(redis_client, direct):
    assert echo(redis_client, direct, "a") == "a"
    [conn] = direct._idle
    mine = conn._sock.getsockname()
    for c in redis_client.client_list():
        if c["addr"].endswith(f":{mine[1]}"):
            redis_client.client_kill_filter(_id=c["id"])
    assert echo(redis_client, direct, "b") == "b"


def test_an_interrupted_call_never_hands_its_reply_to_the_next_one(redis_client, direct,
                                                                   monkeypatch):
    assert echo(redis_client, direct, "warm") == "warm"
    [conn] = direct._idle
    real_read = conn.read_response

    def interrupted(*args, **kwargs):
        monkeypatch.setattr(conn, "read_response", real_read)
        raise KeyboardInterrupt  # after the command went out, before its reply was read

    monkeypatch.setattr(conn, "read_response", interrupted)
    with pytest.raises(KeyboardInterrupt):
        echo(redis_client, direct, "lost")
    assert echo(redis_client, direct, "next") == "next"


def test_a_forked_child_takes_links_of_its_own(redis_client, direct, monkeypatch):
    assert echo(redis_client, direct, "parent") == "parent"
    [parent_conn] = direct._idle
    monkeypatch.setattr("os.getpid", lambda: -1)
    assert echo(redis_client, direct, "child") == "child"
    assert direct._idle and direct._idle[0] is not parent_conn


def test_redis_away_fails_the_call_with_a_redis_error():
    client = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=1,
                         retry=redis.retry.Retry(redis.backoff.NoBackoff(), 1))
    with pytest.raises(redis.ConnectionError):
        DirectConnections(client).run(client.register_script(ECHO), [], ["x"])

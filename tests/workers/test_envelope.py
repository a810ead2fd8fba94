"""The webhook's pre-built message envelope writes what dramatiq writes.

Given an `apply_event` message's kwargs and options (plain events, and text of every kind:
quotes, escapes, control characters, emoji, lone surrogates), when the envelope encodes it,
then dramatiq decodes the very `Message` that `actor.message_with_options(...)` builds, and for
printable ASCII text the bytes are dramatiq's own; with another encoder set, dramatiq's encoder
is used.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import uuid

import dramatiq
import pytest
from dramatiq import JSONEncoder, Message, PickleEncoder
from hypothesis import given, settings
from hypothesis import strategies as st

from store.model import Event, Source, State
from workers import actors, broker, envelope, messages

EVENT = Event("huawei", "dev-1", "cmd-1", State.SENT, "SENT", 1_764_582_921_337,
              Source.CALLBACK).to_message()
OPTIONS = {"redis_message_id": "7f0c3a52-0f0e-4b8e-9d3e-0d7b8f0a2c11", "request_id": "abc123"}


def dramatiqs(kwargs: dict, options: dict, data: bytes) -> Message:
    """The message dramatiq itself builds for these kwargs and options, with the ids and time
    the envelope chose (read back from what it wrote)."""
    written = Message.decode(data)
    return actors.apply_event.message_with_options(kwargs=kwargs, **options).copy(
        message_id=written.message_id, message_timestamp=written.message_timestamp)


def test_a_callbacks_message_is_dramatiqs_byte_for_byte():
    data = envelope.Envelope(actors.apply_event).encode({"event": EVENT}, OPTIONS)
    assert data == dramatiqs({"event": EVENT}, OPTIONS, data).encode()


def test_encode_apply_event_carries_the_request_id_and_the_redis_message_id(monkeypatch):
    monkeypatch.setattr("cmdkeeper.request_ids.current", lambda: "req-9")
    message_id, data = messages.encode_apply_event(EVENT)
    message = Message.decode(data)
    assert message.options == {"redis_message_id": message_id,
                               broker.REQUEST_ID_OPTION: "req-9"}
    assert (message.actor_name, message.queue_name, message.args, message.kwargs) == (
        "apply_event", actors.QUEUE, (), {"event": EVENT})
    assert message.message_id != message_id, "the redis id is not the message's own"


texts = st.one_of(st.text(max_size=30), st.sampled_from(
    ['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "é", "🙂", "\ud800", "\udfff", "a\"b\\c"]))
values = st.one_of(st.none(), st.booleans(), st.integers(), texts)


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(texts, values, max_size=8), request_id=st.one_of(st.none(), texts))
def test_any_event_decodes_as_dramatiqs_message(fields, request_id):
    options = {"redis_message_id": "id-1", **({} if request_id is None else
                                              {"request_id": request_id})}
    kwargs = {"event": {**EVENT, **fields}}
    data = envelope.Envelope(actors.apply_event).encode(kwargs, options)
    expected = dramatiqs(kwargs, options, data)
    assert Message.decode(data) == expected
    if re.fullmatch(rb"[ -~]*", data):
        assert data == expected.encode()


def test_ids_are_version_4_uuids_as_dramatiq_writes_them():
    ids = [envelope.new_id() for _ in range(2000)]
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    assert len(set(ids)) == len(ids)
    # every digit but the version and the variant's two bits is random
    assert {text[19] for text in ids} == set("89ab")
    assert len({text[0] for text in ids}) == 16


def test_values_json_refuses_are_refused_as_dramatiq_refuses_them():
    @dataclasses.dataclass
    class Point:
        x: int

    for value in (Point(1), datetime.datetime(2026, 12, 1)):
        with pytest.raises(TypeError):
            envelope.Envelope(actors.apply_event).encode({"event": {"x": value}}, OPTIONS)


@pytest.fixture
def pickle_encoder():
    dramatiq.set_encoder(PickleEncoder())
    yield
    dramatiq.set_encoder(JSONEncoder())


def test_another_encoder_is_used_as_dramatiq_would(pickle_encoder):
    data = envelope.Envelope(actors.apply_event).encode({"event": EVENT}, OPTIONS)
    message = Message.decode(data)
    assert message.kwargs == {"event": EVENT} and message.options == OPTIONS

"""Malformed bus messages: ``MessageError`` from the contracts, a dead letter in the worker.

Hypothesis throws arbitrary keys, values and headers at every decoder; the named
corpus (``workers.soak.fuzz``) covers malformed JSON and unknown schema versions.
Anything but a ``MessageError`` (a ``RecursionError``, a ``KeyError``...) would kill
the embedded run, whose loops only catch feedwatch errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.bus import MemoryBus, Topics
from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.store import AnswerSink, Store
from pipeline.errors import MessageError
from pipeline.types import StandingQuery
from workers.answers_consumer import AnswersConsumer
from workers.soak import fuzz as soak_fuzz

pytestmark = pytest.mark.timeout(120)

DECODERS = {
    "segment": msg.decode_segment,
    "query": msg.decode_query,
    "answer": msg.decode_answer,
    "deadletter": msg.decode_deadletter,
}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
headers = st.lists(
    st.tuples(
        st.sampled_from(["schema", "camera", "seq", "start", "duration", "container", "x"]),
        st.one_of(st.none(), st.binary(max_size=12), st.sampled_from([b"1", b"nan", b"-1"])),
    ),
    max_size=10,
)


def _decodes_or_message_error(decode: object, key: object, value: object, hdrs: object) -> None:
    try:
        decode(key, value, hdrs)  # type: ignore[operator]
    except MessageError as exc:
        assert str(exc)


@pytest.mark.parametrize("contract", sorted(DECODERS))
def test_arbitrary_bytes_are_parsed_or_refused_with_message_error(contract: str) -> None:
    @FAST
    @given(
        key=st.one_of(st.none(), st.binary(max_size=16)), value=st.binary(max_size=64), hdrs=headers
    )
    def check(key: bytes | None, value: bytes, hdrs: list[tuple[str, bytes | None]]) -> None:
        _decodes_or_message_error(DECODERS[contract], key, value, hdrs)

    check()


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
    )
    return st.recursive(
        scalars,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=4),
        max_leaves=12,
    )


QUERY_BODY = json.loads(
    msg.encode_query(StandingQuery("q", "a red circle", ("c",), 1.0, 2.0)).value or b"{}"
)


@pytest.mark.parametrize("contract", ["query", "answer"])
def test_mutated_json_fields_are_parsed_or_refused(contract: str) -> None:
    @FAST
    @given(
        field=st.sampled_from(sorted(QUERY_BODY) + ["frames", "rois", "evidence"]),
        value=_json_values(),
    )
    def check(field: str, value: object) -> None:
        body = {**QUERY_BODY, "query_id": "q", field: value}
        _decodes_or_message_error(DECODERS[contract], b"q", json.dumps(body).encode(), [])

    check()


@pytest.mark.parametrize("name", sorted(soak_fuzz.bad_json_bodies()))
@pytest.mark.parametrize("contract", ["query", "answer"])
def test_malformed_json_and_unknown_schema_raise_message_error(contract: str, name: str) -> None:
    body = soak_fuzz.bad_json_bodies()[name]
    with pytest.raises(MessageError):
        DECODERS[contract](b"q", body, [("schema", b"1")])


@pytest.mark.parametrize("name", sorted(soak_fuzz.bad_messages("cam", 1)))
def test_malformed_segment_messages_raise_message_error(name: str) -> None:
    key, value, hdrs = soak_fuzz.bad_messages("cam", 1)[name]
    with pytest.raises(MessageError):
        msg.decode_segment(key, value, hdrs)


def test_sink_dead_letters_every_malformed_answer(tmp_path: Path) -> None:
    topics = Topics.with_prefix("fz.")
    bus = MemoryBus()
    bodies = list(soak_fuzz.bad_json_bodies().values())
    records = [Record(topics.answers, 0, i, b"q", b, [], 0.0) for i, b in enumerate(bodies)]
    store = Store.from_url(f"sqlite:///{tmp_path / 'fz.db'}")
    handler = AnswersConsumer(AnswerSink(store), DeadLetters(bus.producer(), topics.deadletter))
    assert handler(records) == 0
    assert len(bus.messages(topics.deadletter)) == len(bodies)
    assert store.count_answers() == 0
    store.close()

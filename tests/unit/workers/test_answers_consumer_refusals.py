"""The answers consumer tells a value the store refuses (StoreDataError: the record's
fault) from an outage (StoreError): the first is a dead letter with its context while
the rest of the batch is stored, the second is retried until stored (issue 26)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.retry import RetryPolicy
from connectors.store import AnswerSink, Store
from pipeline.errors import StoreDataError, StoreError
from pipeline.types import Answer
from tests.unit.fakes import RecordingProducer
from workers.answers_consumer import AnswersConsumer

QUICK = RetryPolicy(initial=0.01, maximum=0.02, attempts=5)


class PickySink(AnswerSink):
    """SQLite stands in for PostgreSQL, which refuses a NUL in text (the PostgreSQL test
    is tests/integration/test_answers_refused_postgres.py); the first ``outages``
    writes fail as a database that is away does."""

    def __init__(self, store: Store, outages: int = 0) -> None:
        super().__init__(store)
        self.outages, self.writes = outages, 0

    def _write(self, answers: Sequence[Answer]) -> int:
        self.writes += 1
        if self.writes <= self.outages:
            raise StoreError("store write failed: OperationalError: server closed the connection")
        if any("\x00" in a.text for a in answers):
            raise StoreDataError("store write failed: DataError: text cannot contain NUL")
        return super()._write(answers)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    yield s
    s.close()


def answer(t: float, text: str = "yes", camera: str = "dock") -> Answer:
    return Answer("q", "a red circle?", camera, t, t + 2.0, t + 2.5, "clip", text, True, 0.3,
                  (t + 1.0,), ((0.0, 0.0, 1.0, 1.0),), 10, 5.0)


def records(answers: Sequence[Answer]) -> list[Record]:
    return [Record("t.answers", 3, 100 + i, *msg.encode_answer(a), 0.0)
            for i, a in enumerate(answers)]


def test_a_refused_value_is_one_dead_letter_and_the_rest_is_stored(store: Store) -> None:
    batch = [answer(0.0), answer(2.0, "y\x00es", camera="yard"), answer(4.0)]
    dead = RecordingProducer()
    consumer = AnswersConsumer(PickySink(store), DeadLetters(dead, "dl"), retry=QUICK)
    assert consumer(records(batch)) == 2
    assert sorted(a.window_end for a in store.answers()) == [2.0, 6.0]
    [(_, key, value, headers)] = dead.sent
    letter = msg.decode_deadletter(key, value, headers)
    where = (letter.stage, letter.camera, letter.partition, letter.offset)
    assert where == ("sink", "yard", 3, 101)
    assert letter.error_type == "StoreDataError" and "window_end 4.0" in letter.error_message
    assert msg.decode_answer(letter.key, letter.value).text == "y\x00es"  # kept for replay
    assert consumer(records(batch)) == 0 and consumer.dead_letters == 2  # redelivered: same


def test_an_outage_is_retried_until_stored_not_dead_lettered(store: Store) -> None:
    dead = RecordingProducer()
    sink = PickySink(store, outages=2)
    consumer = AnswersConsumer(sink, DeadLetters(dead, "dl"), retry=QUICK)
    assert consumer(records([answer(0.0), answer(2.0)])) == 2
    assert sink.writes == 3 and dead.sent == [] and len(store.answers()) == 2


def test_an_outage_while_writing_one_by_one_keeps_the_rest_for_the_retry(store: Store) -> None:
    class Both(PickySink):
        def _write(self, answers: Sequence[Answer]) -> int:
            if len(answers) == 1 and answers[0].window_end == 6.0 and not self.outages:
                self.outages = self.writes + 1  # the database goes away once, mid-way
            return super()._write(answers)

    dead = RecordingProducer()
    consumer = AnswersConsumer(Both(store), DeadLetters(dead, "dl"), retry=QUICK)
    batch = [answer(0.0), answer(2.0, "n\x00"), answer(4.0)]
    assert consumer(records(batch)) == 2 and len(dead.sent) == 1
    assert sorted(a.window_end for a in store.answers()) == [2.0, 6.0]

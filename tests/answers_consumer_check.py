"""One check of :class:`workers.answers_consumer.AnswersConsumer`, run over any bus: the
in-process bus (tests/unit/workers/test_answers_consumer.py) and Kafka
(tests/integration/test_answers_consumer_kafka.py). Both modes store answers through
this one class, so the same records must give the same retries, rows and metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from connectors.bus import messages as msg
from connectors.bus.base import Bus, Record, Topics
from connectors.bus.deadletter import ONCE, DeadLetters
from connectors.retry import RetryPolicy
from connectors.store import AnswerSink, Store
from pipeline.errors import BackpressureError, StoreError
from pipeline.types import Answer
from workers.answers_consumer import AnswersConsumer

QUICK = RetryPolicy(initial=0.01, maximum=0.02, attempts=5)


class RefusingSink(AnswerSink):
    """The store's sink, refusing its first ``refusals`` flushes as a busy database does."""

    def __init__(self, store: Store, refusals: float) -> None:
        super().__init__(store)
        self.refusals, self.flushes = refusals, 0

    def flush(self) -> int:
        self.flushes += 1
        if self.flushes <= self.refusals:
            raise BackpressureError(0.01, "database is locked")
        return super().flush()


def answers(n: int = 5) -> list[Answer]:
    return [Answer("q", "is a red circle visible?", "cam", t, t + 4.0, t + 4.5, "clip", "yes",
                   True, 0.3, (t + 1.0,), ((0.0, 0.0, 1.0, 1.0),), 10, 5.0) for t in range(n)]


def publish(bus: Bus, topics: Topics, items: Sequence[Answer]) -> None:
    """The answers, then one malformed record, on the answers topic."""
    producer = bus.producer()
    for a in items:
        producer.send(topics.answers, *msg.encode_answer(a))
    producer.send(topics.answers, b"q", b"{not json", [])
    producer.flush()


def take(bus: Bus, topic: str, n: int, timeout: float = 30.0) -> list[Record]:
    consumer = bus.consumer([topic], f"check-{topic}")
    got: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += consumer.poll(max_records=n - len(got), timeout=0.5)
    consumer.close()
    assert len(got) == n, f"{len(got)} of {n} records on {topic}"
    return got


def stored() -> float:
    return REGISTRY.get_sample_value("feedwatch_answers_stored_total") or 0.0


def dead_lettered() -> float:
    return REGISTRY.get_sample_value("feedwatch_dead_letters_total", {"stage": "sink"}) or 0.0


def check(bus: Bus, topics: Topics, store: Store) -> None:
    """Retries while the database refuses, stores every answer once, dead-letters the
    malformed record, counts both in the metrics; a spent budget is a clear error."""
    publish(bus, topics, answers())
    records = take(bus, topics.answers, 6)
    sink = RefusingSink(store, refusals=2)
    consumer = AnswersConsumer(sink, DeadLetters(bus.producer(), topics.deadletter, retry=ONCE),
                               retry=QUICK)
    before = stored(), dead_lettered()
    assert consumer(records) == 5 and consumer(records) == 0  # redelivery: no new rows
    assert sink.flushes == 2 + 1 + 1  # refused twice, then stored; the redelivery once
    assert (stored() - before[0], dead_lettered() - before[1]) == (5, 2)
    assert consumer.dead_letters == 2 and len(store.answers(question="is a red circle "
                                                                       "visible?")) == 5
    (letter, _) = take(bus, topics.deadletter, 2)
    assert dict(letter.headers)["error.stage"] == b"sink"
    spent = AnswersConsumer(RefusingSink(store, refusals=float("inf")),
                            DeadLetters(bus.producer(), topics.deadletter, retry=ONCE),
                            retry=RetryPolicy(initial=0.01, maximum=0.01, attempts=3))
    with pytest.raises(StoreError, match="after 3 tries"):
        spent(records[:1])

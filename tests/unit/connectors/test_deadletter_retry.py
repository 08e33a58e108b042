"""A dead letter is retried under the retry policy until the bus takes it (or, bounded,
the error is raised so the caller does not commit the record)."""

from __future__ import annotations

import pytest

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import ONCE, DeadLetters
from connectors.retry import RetryPolicy
from pipeline.errors import BusError
from tests.unit.fakes import RecordingProducer

RECORD = Record("feedwatch.segments", 2, 41, b"cam", b"\x00", [("camera", b"cam")], 0.0)


def flaky_producer(failures: int) -> RecordingProducer:
    """Refuses the first ``failures`` flushes, as a broker that is away."""
    return RecordingProducer(fail_flushes=failures, error=BusError)


def test_a_dead_letter_is_retried_until_the_bus_acknowledges_it() -> None:
    producer = flaky_producer(failures=3)
    letters = DeadLetters(producer, "dl", retry=RetryPolicy(initial=0.001, maximum=0.002))
    letters.publish_record(RECORD, ValueError("bad bytes"), stage="decode")
    assert letters.count == 1 and len(producer.sent) == 4
    letter = msg.decode_deadletter(*producer.sent[-1][1:])
    assert (letter.camera, letter.partition, letter.offset) == ("cam", 2, 41)


def test_a_bounded_policy_raises_so_the_record_is_not_committed() -> None:
    letters = DeadLetters(flaky_producer(failures=1), "dl", retry=ONCE)
    with pytest.raises(BusError):
        letters.publish_record(RECORD, ValueError("bad bytes"), stage="decode")
    assert letters.count == 0

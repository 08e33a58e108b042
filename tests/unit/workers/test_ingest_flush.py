"""Ingest waits out a sink's backpressure (its ``retry_after``) instead of dropping segments."""

from __future__ import annotations

from pipeline.errors import BackpressureError
from workers.ingest.process import flush


class SlowSink:
    """Refuses ``refusals`` flushes with a retry hint, then takes everything."""

    def __init__(self, refusals: int, retry_after: float) -> None:
        self.refusals, self.retry_after, self.flushed = refusals, retry_after, 0

    def add(self, segment: object) -> None:  # the SegmentSink interface
        raise NotImplementedError

    def flush(self) -> None:
        if self.refusals:
            self.refusals -= 1
            raise BackpressureError(self.retry_after, "queue full")
        self.flushed += 1


def test_flush_waits_the_sinks_retry_after_until_it_takes_the_segments() -> None:
    sink, sleeps = SlowSink(refusals=3, retry_after=0.7), []
    flush(sink, sleep=sleeps.append)  # type: ignore[arg-type]
    assert sink.flushed == 1
    assert sleeps == [0.7, 0.7, 0.7]

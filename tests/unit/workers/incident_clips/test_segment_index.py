"""The segment index the Kafka clip worker keeps as segments pass (here over the
in-process bus; tests/integration/test_clips_kafka.py runs it on real Kafka)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.bus import messages as msg
from connectors.bus.memory import MemoryBus
from connectors.store import Store
from connectors.store.segment_index import SegmentIndex
from pipeline.types import Segment
from workers.incident_clips.kafka import SegmentIndexer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'f.db'}")
    yield s
    s.close()


def seg(seq: int, start: float, lead: float = 0.0, camera: str = "cam") -> Segment:
    return Segment(camera, seq, start, 2.0, b"\x47" * 188, lead=lead)


def test_segments_are_indexed_by_stream_time_and_found_with_their_prefix(store: Store) -> None:
    bus, clock = MemoryBus(), [5000.0]
    producer = bus.producer()
    for s in [seg(0, 0.0), seg(1, 2.0, lead=2.0), seg(2, 4.0, lead=4.0), seg(0, 0.0, camera="b")]:
        producer.send("segments", *msg.encode_segment(s))
    producer.send("segments", b"cam", b"junk", [])  # not a segment: skipped, not fatal
    index = SegmentIndex(store.engine)
    indexer = SegmentIndexer(bus.consumer(["segments"], "idx"), index, retention_s=60.0,
                             clock=lambda: clock[0])
    assert indexer.run_once(timeout=0.1) == 5 and indexer.run_once(timeout=0.0) == 0
    found = index.covering("cam", 4.5, 5.0)  # 4-6 s, carrying 0-4 s from its keyframe
    assert [(s.seq, s.start, s.end, s.lead) for s in found] == [(2, 4.0, 6.0, 4.0)]
    assert [s.seq for s in index.covering("cam", 1.0, 3.0)] == [0, 1, 2]
    assert index.newest_end("cam") == 6.0 and index.newest_end("none") is None
    assert index.add([found[0]]) == 0  # a record seen again is not indexed twice
    assert index.prune(produced_before=found[0].produced_at + 1.0) == 4
    assert index.covering("cam", 0.0, 10.0) == []


def test_a_segment_the_store_cannot_hold_costs_only_its_own_row(store: Store) -> None:
    """Before: a record whose seq is past the column's integer (hostile, or a camera's
    counter gone wild) made the store refuse the whole batch, and the indexer moved on:
    no clip could be cut from the other cameras' segments of that batch."""
    bus = MemoryBus()
    producer = bus.producer()
    for s in [seg(0, 0.0), seg(2**70, 2.0, camera="wild"), seg(1, 2.0)]:
        producer.send("segments", *msg.encode_segment(s))
    index = SegmentIndex(store.engine)
    indexer = SegmentIndexer(bus.consumer(["segments"], "idx"), index, retention_s=60.0)
    assert indexer.run_once(timeout=0.1) == 3
    assert [s.seq for s in index.covering("cam", 0.0, 10.0)] == [0, 1]
    assert index.covering("wild", 0.0, 10.0) == []

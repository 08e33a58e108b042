"""The clip worker of the Kafka scale-out: a process of its own (``feedwatch clips``).

It follows the ``segments`` topic in its own consumer group and writes where each
record sits, by camera and stream time, to the store's segment index
(:mod:`connectors.store.segment_index`); the :class:`~workers.incident_clips.service.ClipWorker`
cuts each incident's clips from the records the index points at, read back with
:class:`~connectors.kafka.segment_reader.SegmentReader`. It needs no perception
worker alive: the topic is the recording. Clips reach back as far as the topic's
retention (``FEEDWATCH_KAFKA_SEGMENTS_RETENTION_S``); index rows older than that are
pruned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.bus import messages as msg
from connectors.bus.base import Consumer, Record
from connectors.kafka import KafkaBus, topics_of
from connectors.kafka.segment_reader import SegmentReader
from connectors.store import Store, open_store
from connectors.store.clips import ClipFiles, ClipStore
from connectors.store.segment_index import IndexedSegment, SegmentIndex
from pipeline.errors import FeedwatchError, MessageError, StoreDataError
from pipeline.types import Segment
from workers.config import Settings
from workers.incident_clips.embedded import policy_of
from workers.incident_clips.service import ClipService, ClipWorker

log = logging.getLogger("feedwatch.clips")
INDEX_GROUP = "feedwatch-clips-index"


def indexed(record: Record) -> IndexedSegment:
    """Where a segment record sits and what time it covers (MessageError if bad)."""
    s = msg.decode_segment(record.key, record.value, record.headers)
    return IndexedSegment(s.camera, s.seq, s.start, s.end, s.lead, record.topic,
                          record.partition, record.offset, record.timestamp)


@dataclass(eq=False)
class SegmentIndexer:
    """Indexes the segment records as they pass; commits after they are stored."""

    consumer: Consumer
    index: SegmentIndex
    retention_s: float
    clock: Callable[[], float] = time.time
    _pruned: float = field(default=0.0, init=False)

    def run_once(self, max_records: int = 200, timeout: float = 0.5) -> int:
        records = self.consumer.poll(max_records=max_records, timeout=timeout)
        rows = []
        for r in records:
            try:
                rows.append(indexed(r))
            except MessageError as exc:  # perception dead-letters it; nothing to clip
                log.warning("segment %s[%d]@%d not indexed: %s", r.topic, r.partition, r.offset,
                            exc)
        try:
            self.index.add(rows)
        except StoreDataError:  # one row the store cannot hold must not cost the others
            for row in rows:
                self._add_one(row)
        self.consumer.commit()
        self._prune()
        return len(records)

    def _add_one(self, row: IndexedSegment) -> None:
        try:
            self.index.add([row])
        except StoreDataError as exc:  # e.g. a seq past the column's integer
            log.warning("segment %s[%d]@%d not indexed (camera %s, seq %d): %s", row.topic,
                        row.partition, row.offset, row.camera, row.seq, exc)

    def _prune(self) -> None:
        now = self.clock()
        if now - self._pruned >= 60.0:
            self._pruned = now
            self.index.prune(now - self.retention_s)


@dataclass(eq=False)
class KafkaRecording:
    """The recording the clip worker reads in Kafka mode (see module doc)."""

    index: SegmentIndex
    reader: SegmentReader

    def covering(self, camera: str, start: float, end: float) -> list[Segment]:
        places = self.index.covering(camera, start, end)
        records = self.reader.read((p.topic, p.partition, p.offset) for p in places)
        out = []
        for p in places:
            r = records.get((p.topic, p.partition, p.offset))
            if r is not None:  # None: deleted by the topic's retention
                out.append(msg.decode_segment(r.key, r.value, r.headers))
        return out

    def reached(self, camera: str, t: float) -> bool:
        newest = self.index.newest_end(camera)
        return newest is not None and newest >= t

    def hold(self, key: str, camera: str, start: float, end: float) -> None:
        """Nothing to hold: the topic keeps every record for its retention."""

    def release(self, key: str) -> None:
        """Nothing held."""


@dataclass(eq=False)
class ClipsProcess:
    """``feedwatch clips``: the indexer in this thread, the clip worker in another."""

    store: Store
    indexer: SegmentIndexer
    service: ClipService

    @classmethod
    def from_settings(cls, settings: Settings) -> ClipsProcess:
        store = open_store(settings.store.url, wait=True)
        index = SegmentIndex(store.engine)
        bus = KafkaBus(settings.kafka)
        consumer = bus.consumer([topics_of(settings.kafka).segments], INDEX_GROUP)
        indexer = SegmentIndexer(consumer, index, settings.kafka.segments_retention_s)
        recording = KafkaRecording(index, SegmentReader.from_config(settings.kafka))
        files = ClipFiles.from_config(settings.clips.dir)
        worker = ClipWorker(ClipStore(store.engine), files, recording, policy_of(settings.clips))
        return cls(store, indexer, ClipService(worker, settings.clips.poll_s))

    def run(self, stop: threading.Event) -> None:
        self.service.start()
        try:
            while not stop.is_set():
                try:
                    self.indexer.run_once()
                except FeedwatchError as exc:
                    log.warning("clips: indexing postponed: %s", str(exc).splitlines()[0])
                    stop.wait(1.0)
        finally:
            self.service.stop()
            self.indexer.consumer.close()
            self.store.close()

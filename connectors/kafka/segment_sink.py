"""Segments into Kafka: the ingest side's :class:`SegmentSink`.

Each segment becomes one record of the segments topic (contract in
:mod:`connectors.bus.messages`), keyed by camera and sent to the partition
:func:`partition_for` names; the record timestamp is the produce time (segment times
of plain files are seconds from the file start, not epoch, so they must not drive
retention). ``flush`` returns once the broker acknowledged every record (acks=all);
an oversized segment is refused before sending.
"""

from __future__ import annotations

from connectors.bus.messages import encode_segment
from connectors.kafka.admin import TopicAdmin, topics_of
from connectors.kafka.base import KafkaConfig, ProduceError, TopicError
from connectors.kafka.partitioning import partition_for
from connectors.kafka.producer import KafkaBusProducer
from connectors.video.base import SegmentSink
from pipeline.types import Segment

HEADROOM = 4096  # bytes of record overhead (headers, key, batch framing)


class KafkaSegmentSink(SegmentSink):
    """Batches segments in ``add`` and writes them durably in ``flush``."""

    def __init__(
        self, producer: KafkaBusProducer, topic: str, partitions: int, max_bytes: int
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.partitions = partitions
        self.max_bytes = max_bytes
        self._pending: list[Segment] = []

    @classmethod
    def from_config(cls, cfg: KafkaConfig) -> KafkaSegmentSink:
        """Ready sink; the segments topic must exist (see ``ensure_topics``)."""
        topic = topics_of(cfg).segments
        admin = TopicAdmin.from_config(cfg)
        try:
            partitions = admin.partitions_of(topic)
        finally:
            admin.close()
        if partitions < 1:
            raise TopicError(f"topic {topic!r} does not exist; create it with ensure_topics")
        return cls(
            KafkaBusProducer.from_config(cfg, "feedwatch-ingest"),
            topic,
            partitions,
            cfg.segment_max_bytes,
        )

    def add(self, segment: Segment) -> None:
        if len(segment.data) + HEADROOM > self.max_bytes:
            raise ProduceError(
                f"segment {segment.seq} of camera {segment.camera!r} is {len(segment.data)} bytes; "
                f"max.message.bytes is {self.max_bytes} (FEEDWATCH_KAFKA_SEGMENT_MAX_BYTES)"
            )
        self._pending.append(segment)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for seg in pending:
            key, value, headers = encode_segment(seg)
            self.producer.send(
                self.topic,
                key,
                value,
                headers,
                partition=partition_for(seg.camera, self.partitions),
            )
        self.producer.flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.producer.producer.close()

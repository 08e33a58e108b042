"""Reading given records of the ``segments`` topic back by offset (the clip worker's
recording), and what the topic no longer holds.

:meth:`SegmentReader.read` seeks each partition to the lowest wanted offset and reads
forward to the highest; a record the topic's retention already deleted is simply
not returned (the log now starts after it). It uses its own group-less consumer:
nothing is committed, no consumer group is joined.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from connectors.bus.base import Record
from connectors.kafka.base import KafkaConfig, KafkaUnavailable
from connectors.kafka.clients import kafka_client
from connectors.kafka.producer import to_record

MAX_POLLS = 200


class SegmentReader:
    """Fetches records by (topic, partition, offset); not thread-safe."""

    def __init__(self, consumer: Any, timeout: float = 10.0) -> None:
        self.consumer, self.timeout = consumer, timeout

    @classmethod
    def from_config(cls, cfg: KafkaConfig) -> SegmentReader:
        consumer = kafka_client(
            KafkaConsumer, cfg, group_id=None, enable_auto_commit=False,
            client_id="feedwatch-clips", auto_offset_reset="earliest",
            fetch_max_bytes=max(52428800, cfg.segment_max_bytes),
            max_partition_fetch_bytes=cfg.segment_max_bytes,
        )
        return cls(consumer, cfg.request_timeout_s)

    def read(self, places: Iterable[tuple[str, int, int]]) -> dict[tuple[str, int, int], Record]:
        """The records at these (topic, partition, offset) places that still exist."""
        wanted: dict[TopicPartition, set[int]] = defaultdict(set)
        for topic, partition, offset in places:
            wanted[TopicPartition(topic, partition)].add(offset)
        out: dict[tuple[str, int, int], Record] = {}
        for tp, offsets in wanted.items():
            for r in self._read_partition(tp, offsets):
                out[(r.topic, r.partition, r.offset)] = r
        return out

    def _read_partition(self, tp: TopicPartition, offsets: set[int]) -> list[Record]:
        try:
            self.consumer.assign([tp])
            first = max(min(offsets), int(self.consumer.beginning_offsets([tp])[tp]))
            stop = max(offsets) + 1
            if first >= stop:
                return []
            self.consumer.seek(tp, first)
            return self._until(tp, offsets, stop)
        except KafkaError as exc:
            raise KafkaUnavailable(f"reading {tp.topic}[{tp.partition}]: {exc}") from exc

    def _until(self, tp: TopicPartition, offsets: set[int], stop: int) -> list[Record]:
        out: list[Record] = []
        for _ in range(MAX_POLLS):
            if self.consumer.position(tp) >= stop:
                break
            batch = self.consumer.poll(timeout_ms=int(self.timeout * 100), max_records=50)
            out.extend(to_record(m) for m in batch.get(tp, []) if m.offset in offsets)
        return out

    def close(self) -> None:
        self.consumer.close()

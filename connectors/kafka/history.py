"""Re-reading a partition backwards in time: the source of a worker's warm-up.

:meth:`PartitionHistory.before` returns the records of a record's partition that
were produced at most ``seconds`` (+ a margin) before it and sit at lower offsets.
It seeks by record timestamp (``offsets_for_times``), so the cost is one short
fetch, not a scan. It uses its own group-less consumer: nothing is committed.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, TopicPartition

from connectors.bus.base import Record
from connectors.kafka.base import KafkaConfig
from connectors.kafka.clients import kafka_client
from connectors.kafka.producer import to_record


class PartitionHistory:
    """Reads the recent past of one partition at a time (not thread-safe)."""

    def __init__(self, consumer: Any, margin: float = 10.0, timeout: float = 10.0) -> None:
        self.consumer = consumer
        self.margin = margin
        self.timeout = timeout

    @classmethod
    def from_config(cls, cfg: KafkaConfig, margin: float = 10.0) -> PartitionHistory:
        consumer = kafka_client(
            KafkaConsumer,
            cfg,
            group_id=None,
            enable_auto_commit=False,
            client_id="feedwatch-warmup",
            fetch_max_bytes=max(52428800, cfg.segment_max_bytes),
            max_partition_fetch_bytes=cfg.segment_max_bytes,
        )
        return cls(consumer, margin, cfg.request_timeout_s)

    def before(self, record: Record, seconds: float) -> list[Record]:
        """Records of ``record``'s partition in ``[ts - seconds - margin, record)``."""
        tp = TopicPartition(record.topic, record.partition)
        self.consumer.assign([tp])
        start = self._start_offset(tp, record.timestamp - seconds - self.margin)
        if start is None or start >= record.offset:
            return []
        self.consumer.seek(tp, start)
        return self._read_until(tp, record.offset)

    def _start_offset(self, tp: TopicPartition, since: float) -> int | None:
        found = self.consumer.offsets_for_times({tp: max(0, int(since * 1000))})
        hit = found.get(tp)
        return None if hit is None else int(hit.offset)

    def _read_until(self, tp: TopicPartition, stop: int) -> list[Record]:
        out: list[Record] = []
        polls = 0
        while self.consumer.position(tp) < stop and polls < 50:
            polls += 1
            batch = self.consumer.poll(timeout_ms=int(self.timeout * 100), max_records=500)
            out.extend(to_record(m) for m in batch.get(tp, []) if m.offset < stop)
        return out

    def close(self) -> None:
        self.consumer.close()

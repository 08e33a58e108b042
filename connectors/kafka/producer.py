"""kafka-python producers and consumers behind the bus interface.

Producers use ``acks=all`` (a record counts as sent once every in-sync replica has
it), idempotence, and crc32c record checksums (the ``crc32c`` extension is a
dependency, so checksumming is native, not pure Python). Records of one key keep
their order; ``flush`` waits for every acknowledgement and raises
:class:`ProduceError` if any record failed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from connectors.bus.base import Bus, Consumer, Producer, Record, next_offsets
from connectors.kafka.base import KafkaConfig, KafkaUnavailable, ProduceError
from connectors.kafka.clients import kafka_client

log = logging.getLogger(__name__)


def producer_options(cfg: KafkaConfig, client_id: str) -> dict[str, Any]:
    """kafka-python producer settings feedwatch uses everywhere (bootstrap and security
    are added by :func:`~connectors.kafka.clients.kafka_client`)."""
    return {
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": cfg.linger_ms,
        "max_request_size": cfg.segment_max_bytes,
        "request_timeout_ms": int(cfg.request_timeout_s * 1000),
        "bootstrap_timeout_ms": int(cfg.request_timeout_s * 1000),
    }


def _require_bootstrap(cfg: KafkaConfig) -> None:
    if not cfg.bootstrap:
        raise KafkaUnavailable("no Kafka bootstrap address (--kafka / FEEDWATCH_KAFKA_BOOTSTRAP)")


class KafkaBusProducer(Producer):
    """Sends records; remembers failures so that ``flush`` reports them."""

    def __init__(self, producer: Any) -> None:
        self.producer = producer
        self._failed: list[BaseException] = []

    @classmethod
    def from_config(cls, cfg: KafkaConfig, client_id: str = "feedwatch") -> KafkaBusProducer:
        _require_bootstrap(cfg)
        return cls(kafka_client(KafkaProducer, cfg, **producer_options(cfg, client_id)))

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
        partition: int | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Queue one record (``timestamp`` in epoch seconds; default: now)."""
        ts = None if timestamp is None else int(timestamp * 1000)
        try:
            fut = self.producer.send(
                topic,
                value=value,
                key=key,
                headers=list(headers),
                partition=partition,
                timestamp_ms=ts,
            )
        except KafkaError as exc:
            raise ProduceError(f"send to {topic!r} failed: {exc}") from exc
        fut.add_errback(self._failed.append)

    def flush(self, timeout: float | None = None) -> None:
        try:
            self.producer.flush(timeout=timeout)
        except KafkaError as exc:
            raise ProduceError(f"flush failed: {exc}") from exc
        if self._failed:
            errors, self._failed = self._failed, []
            raise ProduceError(f"{len(errors)} record(s) not acknowledged: {errors[0]}")

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.producer.close()


class KafkaBusConsumer(Consumer):
    """A consumer-group member with manual commits (commit what was processed)."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self._ends: dict[Any, int] | None = None

    def poll(self, max_records: int = 100, timeout: float = 0.0) -> list[Record]:
        batches = self.consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        return [to_record(m) for msgs in batches.values() for m in msgs]

    def caught_up(self) -> bool:
        """At or past the end offsets its partitions had when first assigned."""
        parts = list(self.consumer.assignment())
        if not parts:
            return False
        if self._ends is None:
            self._ends = dict(self.consumer.end_offsets(parts))
        return all(self.consumer.position(tp) >= end for tp, end in self._ends.items())

    def commit(self) -> None:
        self.consumer.commit()

    def commit_through(self, records: Sequence[Record]) -> None:
        if records:
            self.consumer.commit({TopicPartition(t, p): OffsetAndMetadata(off, "", -1)
                                  for (t, p), off in next_offsets(records).items()})

    def close(self) -> None:
        self.consumer.close()


def to_record(m: Any) -> Record:
    """A bus Record from a Kafka client's message (kafka-python, aiokafka or faust):
    timestamps in seconds (clients give milliseconds), null header values dropped."""
    ts = float(m.timestamp or 0)
    return Record(
        topic=m.topic,
        partition=m.partition,
        offset=m.offset,
        key=m.key or b"",
        value=m.value,
        headers=[(n, bytes(v)) for n, v in m.headers or () if v is not None],
        timestamp=ts / 1000.0 if ts > 1e11 else ts,
    )


class KafkaBus(Bus):
    """The bus interface over one Kafka cluster."""

    def __init__(self, cfg: KafkaConfig) -> None:
        _require_bootstrap(cfg)
        self.cfg = cfg

    def producer(self) -> KafkaBusProducer:
        return KafkaBusProducer.from_config(self.cfg)

    def consumer(
        self, topics: Sequence[str], group: str, *, from_beginning: bool = True
    ) -> KafkaBusConsumer:
        c = kafka_client(
            KafkaConsumer,
            self.cfg,
            *topics,
            group_id=group or None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            fetch_max_bytes=max(52428800, self.cfg.segment_max_bytes),
            max_partition_fetch_bytes=self.cfg.segment_max_bytes,
        )
        return KafkaBusConsumer(c)

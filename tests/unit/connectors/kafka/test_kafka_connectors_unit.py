"""Kafka connectors without a broker: the partition rule, topic specs, sinks, dead letters."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from connectors.bus import messages as msg
from connectors.bus.base import Producer
from connectors.bus.deadletter import DeadLetters
from connectors.kafka import (
    KafkaSegmentSink,
    ProduceError,
    partition_for,
    topic_specs,
    topics_of,
)
from pipeline.types import Segment
from workers.config import KafkaSettings


class RecordingProducer(Producer):
    """An in-memory producer: what was sent, with partition, and how often flushed."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]], int | None]] = []
        self.flushes = 0

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
        partition: int | None = None,
        timestamp: float | None = None,
    ) -> None:
        self.sent.append((topic, key, value, list(headers), partition))

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1


# Kafka's own test vectors for murmur2 (kafka-python test_partitioner.py, 1000 partitions)
@pytest.mark.parametrize(
    ("key", "expected"),
    [("", 681), ("a", 524), ("ab", 434), ("abc", 107), ("123456789", 566)],
)
def test_camera_partition_is_kafkas_default_murmur2_rule(key: str, expected: int) -> None:
    assert partition_for(key, 1000) == expected


def test_partition_rule_is_stable_and_in_range() -> None:
    cams = [f"cam-{i}" for i in range(50)]
    first = [partition_for(c, 7) for c in cams]
    assert first == [partition_for(c, 7) for c in cams]
    assert set(first) == set(range(7))
    with pytest.raises(ValueError):
        partition_for("cam", 0)


def test_topic_specs_carry_partitions_sizes_compaction_and_retention() -> None:
    cfg = KafkaSettings(
        topic_prefix="x.", partitions=6, segment_max_bytes=2_000_000, segments_retention_s=60
    )
    specs = {s.name: s for s in topic_specs(cfg)}
    t = topics_of(cfg)
    assert set(specs) == {
        "x.segments", "x.queries", "x.answers", "x.deadletter", "x.status", "x.frames"
    }
    assert specs["x.frames"].partitions == 6
    assert specs["x.frames"].configs["cleanup.policy"] == "delete"
    assert specs[t.segments].partitions == 6
    assert specs[t.segments].configs["max.message.bytes"] == "2000000"
    assert specs[t.segments].configs["retention.ms"] == "60000"
    assert specs[t.queries].configs["cleanup.policy"] == "compact"
    assert specs[t.queries].partitions == 1
    assert specs[t.deadletter].configs["max.message.bytes"] == "2000000"
    assert specs["x.status"].configs["cleanup.policy"] == "compact"
    assert specs["x.status"].partitions == 1


def test_kafka_settings_have_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWATCH_KAFKA_PARTITIONS", "3")
    monkeypatch.setenv("FEEDWATCH_KAFKA_SESSION_TIMEOUT_S", "7.5")
    monkeypatch.setenv("FEEDWATCH_KAFKA_SINK_BATCH_SIZE", "12")
    cfg = KafkaSettings()
    assert (cfg.partitions, cfg.session_timeout_s, cfg.sink_batch_size) == (3, 7.5, 12)
    with pytest.raises(ValueError):
        KafkaSettings(partitions=0)


def _segment(camera: str, seq: int, data: bytes = b"\x47" * 188) -> Segment:
    return Segment(camera=camera, seq=seq, start=100.0 + seq, duration=1.0, data=data)


def test_segment_sink_batches_in_add_and_writes_keyed_partitioned_records_in_flush() -> None:
    producer = RecordingProducer()
    sink = KafkaSegmentSink(producer, "x.segments", partitions=4, max_bytes=1_000_000)  # type: ignore[arg-type]
    sink.add(_segment("cam-a", 0))
    sink.add(_segment("cam-b", 0))
    assert producer.sent == []
    sink.flush()
    assert producer.flushes == 1
    assert [(t, k, p) for t, k, _v, _h, p in producer.sent] == [
        ("x.segments", b"cam-a", partition_for("cam-a", 4)),
        ("x.segments", b"cam-b", partition_for("cam-b", 4)),
    ]
    _t, key, value, headers, _p = producer.sent[0]
    assert msg.decode_segment(key, value, headers) == _segment("cam-a", 0)


def test_segment_sink_refuses_a_segment_above_max_message_bytes() -> None:
    sink = KafkaSegmentSink(RecordingProducer(), "s", 1, max_bytes=10_000)  # type: ignore[arg-type]
    with pytest.raises(ProduceError, match="max.message.bytes"):
        sink.add(_segment("cam", 3, b"x" * 20_000))


def test_dead_letter_carries_error_camera_partition_offset_and_is_flushed() -> None:
    producer = RecordingProducer()
    dead = DeadLetters(producer, "x.deadletter")
    dead.publish(
        (b"cam-a", b"junk", [("camera", b"cam-a")]),
        ValueError("bad bytes"),
        stage="perceive",
        topic="x.segments",
        camera="cam-a",
        partition=2,
        offset=41,
    )
    assert producer.flushes == 1 and dead.count == 1
    topic, key, value, headers, _p = producer.sent[0]
    letter = msg.decode_deadletter(key, value, headers)
    assert topic == "x.deadletter" and value == b"junk"
    assert (letter.error_type, letter.camera, letter.partition, letter.offset) == (
        "ValueError",
        "cam-a",
        2,
        41,
    )
    assert "bad bytes" in letter.error_message


def test_commit_through_commits_each_partitions_next_offset_only() -> None:
    from kafka.structs import OffsetAndMetadata, TopicPartition

    from connectors.bus.base import Record
    from connectors.kafka import KafkaBusConsumer

    class Client:
        committed: list[dict[TopicPartition, OffsetAndMetadata] | None] = []

        def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata] | None = None) -> None:
            self.committed.append(offsets)

    client = Client()
    handled = [Record("t", p, o, b"k", b"v", [], 0.0) for p, o in ((0, 7), (1, 3), (0, 8))]
    KafkaBusConsumer(client).commit_through(handled)
    KafkaBusConsumer(client).commit_through([])  # nothing handled: nothing committed
    assert client.committed == [{TopicPartition("t", 0): OffsetAndMetadata(9, "", -1),
                                 TopicPartition("t", 1): OffsetAndMetadata(4, "", -1)}]

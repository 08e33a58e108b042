"""The Kafka connectors against the real broker: topics, the segment sink, history."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kafka import KafkaConsumer
from kafka.admin import ConfigResource, ConfigResourceType

from connectors.bus import messages as msg
from connectors.kafka import (
    KafkaBusProducer,
    KafkaSegmentSink,
    TopicAdmin,
    ensure_topics,
    frames_topic_of,
    partition_for,
    status_topic_of,
    topics_of,
)
from connectors.kafka.history import PartitionHistory
from pipeline.types import Segment
from workers.config import KafkaSettings


def settings(bootstrap: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap=bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        partitions=4,
        segment_max_bytes=3_000_000,
    )


def _configs(admin: TopicAdmin, topic: str) -> dict[str, str]:
    res = admin.client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    return {k: v["value"] for k, v in res["topic"][topic].items()}


def test_topics_are_created_once_with_their_settings(kafka_bootstrap: str) -> None:
    cfg = settings(kafka_bootstrap)
    t = topics_of(cfg)
    want = [
        t.segments,
        t.queries,
        t.answers,
        t.deadletter,
        status_topic_of(cfg),
        frames_topic_of(cfg),
    ]
    assert sorted(ensure_topics(cfg)) == sorted(want)
    assert ensure_topics(cfg) == []
    admin = TopicAdmin.from_config(cfg)
    try:
        assert admin.partitions_of(t.segments) == 4
        assert admin.partitions_of(t.queries) == 1
        assert _configs(admin, t.segments)["max.message.bytes"] == "3000000"
        assert _configs(admin, t.queries)["cleanup.policy"] == "compact"
    finally:
        admin.close()


def test_segments_land_on_their_cameras_partition_and_big_ones_fit(kafka_bootstrap: str) -> None:
    cfg = settings(kafka_bootstrap)
    ensure_topics(cfg)
    sink = KafkaSegmentSink.from_config(cfg)
    big = Segment("cam-big", 0, 10.0, 2.0, b"\x47" * 2_500_000)  # above the 1 MB default
    small = [Segment(f"cam-{i}", 1, 12.0, 2.0, bytes([i]) * 1000) for i in range(6)]
    for seg in [big, *small]:
        sink.add(seg)
    sink.flush()
    sink.close()
    consumer = KafkaConsumer(
        topics_of(cfg).segments,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        max_partition_fetch_bytes=4_000_000,
        consumer_timeout_ms=5000,
    )
    seen = {}
    for m in consumer:
        seg = msg.decode_segment(m.key, m.value, m.headers)
        seen[seg.camera] = (m.partition, seg)
    consumer.close()
    assert set(seen) == {"cam-big", *(s.camera for s in small)}
    for camera, (partition, _seg) in seen.items():
        assert partition == partition_for(camera, 4)
    assert seen["cam-big"][1] == big


def test_history_returns_the_recent_records_before_a_record(kafka_bootstrap: str) -> None:
    cfg = settings(kafka_bootstrap)
    ensure_topics(cfg)
    topic = topics_of(cfg).segments
    producer = KafkaBusProducer.from_config(cfg)
    now = time.time()
    for i in range(8):  # produced "i" seconds apart in record time
        producer.send(topic, b"cam", bytes([i]), partition=1, timestamp=now - 8 + i)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    records = [m for m in consumer if m.partition == 1]
    consumer.close()
    from connectors.kafka.producer import to_record

    last = to_record(records[-1])
    history = PartitionHistory.from_config(cfg, margin=0.5)
    try:
        got = history.before(last, seconds=3.0)
    finally:
        history.close()
    assert [r.offset for r in got] == [4, 5, 6]  # produced at most 3.5 s before offset 7


def test_queries_command_writes_the_store_and_the_compacted_topic(
    kafka_bootstrap: str,
    fresh_postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from workers.cli.main import main

    cfg = settings(kafka_bootstrap)
    monkeypatch.setenv("FEEDWATCH_KAFKA_TOPIC_PREFIX", cfg.topic_prefix)
    common = ["--kafka", kafka_bootstrap, "--db", fresh_postgres_url]
    assert (
        main(
            [
                "queries",
                "add",
                "is a forklift blocking the exit?",
                "--camera",
                "dock",
                "--every",
                "2s",
                "--window",
                "6s",
                "--id",
                "fork",
                *common,
            ]
        )
        == 0
    )
    assert main(["queries", "list", "--json", "--db", fresh_postgres_url]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    assert listed == [
        {
            "id": "fork",
            "question": "is a forklift blocking the exit?",
            "cameras": ["dock"],
            "every": 2.0,
            "window": 6.0,
            "answerer": "clip",
            "settings": {},
            "version": 1,
            "status": "active",
            "error": None,
        }
    ]
    assert main(["queries", "remove", "fork", *common]) == 0
    capsys.readouterr()
    assert main(["queries", "list", "--json", "--db", fresh_postgres_url]) == 0
    assert capsys.readouterr().out.strip() == ""
    records = list(
        KafkaConsumer(
            topics_of(cfg).queries,
            bootstrap_servers=kafka_bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            consumer_timeout_ms=3000,
        )
    )
    decoded = [msg.decode_query(r.key, r.value, r.headers) for r in records]
    assert [qid for qid, _ in decoded] == ["fork", "fork"]
    assert decoded[0][1] is not None and decoded[0][1].cameras == ("dock",)
    assert decoded[1][1] is None  # the tombstone


def test_commit_through_leaves_what_was_polled_after_it_for_the_group(
        kafka_bootstrap: str) -> None:
    """The group resumes after the handled records, not after what was polled ahead."""
    from connectors.kafka import KafkaBus

    cfg = settings(kafka_bootstrap)
    ensure_topics(cfg)
    topic, group = topics_of(cfg).answers, f"g{uuid.uuid4().hex[:8]}"
    bus = KafkaBus(cfg)
    producer = bus.producer()
    for i in range(5):
        producer.send(topic, b"k", str(i).encode(), partition=0)
    producer.flush()
    producer.close()
    first = bus.consumer([topic], group)
    polled = _poll_until(first, 5)
    assert [r.value for r in polled] == [b"0", b"1", b"2", b"3", b"4"]
    first.commit_through(polled[:3])  # handled 0-2; 3-4 were polled ahead
    first.close()
    again = bus.consumer([topic], group)
    rest = _poll_until(again, 2)
    again.close()
    assert [r.value for r in rest] == [b"3", b"4"]


def _poll_until(consumer, count: int, within: float = 20.0) -> list:  # type: ignore[no-untyped-def]
    """Poll until ``count`` records came or ``within`` seconds passed."""
    got: list = []
    deadline = time.monotonic() + within
    while len(got) < count and time.monotonic() < deadline:
        got += consumer.poll(max_records=5, timeout=0.5)
    return got

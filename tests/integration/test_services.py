"""The test services are real: a message through Kafka, a row through PostgreSQL,
frames over RTSP, and a broker/database/camera that come back after a stop."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import av
import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.fetcher import ConsumerRecord

from tests.services.kafka import KafkaService
from tests.services.postgres import PostgresService
from tests.services.rtsp import RtspServer

pytestmark = pytest.mark.integration


def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type="gzip")
    try:
        producer.send(topic, key=key, value=value, headers=[("camera", b"cam-1")]).get(timeout=30)
    finally:
        producer.close()


def _consume_one(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=30_000,
    )
    try:
        return [next(iter(consumer))]
    finally:
        consumer.close()


def test_crc32c_uses_the_c_extension() -> None:
    import kafka.record.util as record_util

    assert record_util.crc32c_c is not None, "kafka-python[crc32c]: the crc32c package is missing"
    assert record_util.crc32c_c(b"123456789") == 0xE3069283


def test_kafka_message_round_trip(kafka_bootstrap: str) -> None:
    topic = f"fw-test-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    admin.close()
    payload = uuid.uuid4().bytes * 1000

    _produce(kafka_bootstrap, topic, b"cam-1", payload)
    [record] = _consume_one(kafka_bootstrap, topic)

    assert (record.key, record.value) == (b"cam-1", payload)
    assert dict(record.headers) == {"camera": b"cam-1"}


def test_kafka_takes_an_eight_megabyte_segment(kafka_bootstrap: str) -> None:
    topic = f"fw-big-{uuid.uuid4().hex[:8]}"
    payload = bytes(range(256)) * (8 * 1024 * 4)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all",
                             max_request_size=10 * 1024 * 1024)
    producer.send(topic, value=payload).get(timeout=60)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=30_000,
                             fetch_max_bytes=20 * 1024 * 1024,
                             max_partition_fetch_bytes=20 * 1024 * 1024)
    try:
        record = next(iter(consumer))
    finally:
        consumer.close()
    assert len(record.value) == 8 * 1024 * 1024 and record.value == payload


def test_kafka_broker_restarts_with_its_data(kafka_service: KafkaService) -> None:
    if kafka_service.external:
        pytest.skip("FEEDWATCH_TEST_KAFKA broker cannot be restarted by tests")
    topic = f"fw-restart-{uuid.uuid4().hex[:8]}"
    _produce(kafka_service.bootstrap, topic, b"k", b"before restart")
    port = kafka_service.port

    kafka_service.stop()
    assert not kafka_service.running
    kafka_service.start()

    assert kafka_service.port == port
    [record] = _consume_one(kafka_service.bootstrap, topic)
    assert record.value == b"before restart"


def test_postgres_row_round_trip(fresh_postgres_url: str) -> None:
    engine = sa.create_engine(fresh_postgres_url)
    meta = sa.MetaData()
    answers = sa.Table(
        "answers", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(answers.insert().values(id=1, text="a red circle",
                                             at=sa.func.now()))
    with engine.connect() as conn:
        row = conn.execute(sa.select(answers.c.text, answers.c.at)).one()
        server = conn.execute(sa.text("select version()")).scalar_one()
    engine.dispose()
    assert row.text == "a red circle" and row.at.tzinfo is not None
    assert "PostgreSQL" in server


@pytest.mark.parametrize("graceful", [True, False], ids=["fast-shutdown", "killed"])
def test_postgres_restarts_with_its_data(postgres_service: PostgresService, postgres_url: str,
                                         graceful: bool) -> None:
    if postgres_service.external:
        pytest.skip("FEEDWATCH_TEST_DATABASE_URL database cannot be restarted by tests")
    table = f"t_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(postgres_url, pool_pre_ping=True)
    with engine.begin() as conn:
        conn.execute(sa.text(f"create table {table} (v text)"))
        conn.execute(sa.text(f"insert into {table} values ('kept')"))

    postgres_service.stop(graceful=graceful)
    with pytest.raises(sa.exc.OperationalError):
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    postgres_service.start()

    with engine.begin() as conn:
        assert conn.execute(sa.text(f"select v from {table}")).scalar_one() == "kept"
        conn.execute(sa.text(f"drop table {table}"))
    engine.dispose()


def _read_frames(url: str, count: int) -> list[av.VideoFrame]:
    frames = []
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=15) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) >= count:
                break
    return frames


def test_rtsp_serves_decodable_frames(rtsp_server: Callable[..., RtspServer],
                                      tiny_h264_clip: Path) -> None:
    server = rtsp_server(tiny_h264_clip)

    frames = _read_frames(server.url, 60)  # 6 s at 10 fps: past the clip's 4 s end

    assert len(frames) == 60
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    times = [f.time for f in frames if f.time is not None]  # RTSP's first frame may lack one
    assert len(times) >= 55
    assert times == sorted(times) and times[-1] - times[0] > 5.0


def test_rtsp_server_stops_for_real_and_comes_back(rtsp_server: Callable[..., RtspServer],
                                                   tiny_h264_clip: Path) -> None:
    server = rtsp_server(tiny_h264_clip, mount="door")
    url = server.url
    assert url.endswith("/door")

    server.stop()
    with pytest.raises((OSError, av.error.FFmpegError)):
        _read_frames(url, 1)
    server.start()

    assert server.url == url
    assert len(_read_frames(url, 10)) == 10

"""Every Kafka client over SASL/SCRAM (and SCRAM over TLS) on the real test broker.

The session's broker has, beside PLAINTEXT, a SASL_PLAINTEXT and a SASL_SSL listener
with one SCRAM user (``tests/services/kafka_auth.py``). The project's own connectors
create topics, write segments and answers, read them back, look back in a partition
and fetch records for clips over them; a ``feedwatch worker`` (Faust/aiokafka) stores
answers it consumed over SCRAM, configured only through ``FEEDWATCH_KAFKA_*`` with the
password in a file. A wrong password or an untrusted certificate is a clear error
within the client's deadline, not a hang.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from connectors.bus import messages as msg
from connectors.kafka import KafkaBus, KafkaBusProducer, KafkaSegmentSink, ensure_topics, topics_of
from connectors.kafka.base import KafkaAuthError
from connectors.kafka.history import PartitionHistory
from connectors.kafka.segment_reader import SegmentReader
from connectors.store import Store
from pipeline.types import Answer, Segment
from workers.config import KafkaSettings
from workers.soak.cluster import Cluster

DEADLINE_S = 5.0  # request_timeout_s of the clients that are meant to fail


@pytest.fixture
def broker(kafka_service: Any) -> Any:
    if not kafka_service.sasl_bootstrap:
        pytest.skip("FEEDWATCH_TEST_KAFKA names an external broker without the test SCRAM user")
    if not kafka_service.running:
        kafka_service.start()
    return kafka_service


def scram(
    broker: Any, tls: bool = False, password: str | None = None, **extra: Any
) -> KafkaSettings:
    """Settings for the SCRAM listener (SHA-256), or the TLS one (SHA-512)."""
    over_tls = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                "ssl_cafile": str(broker.tls.ca), "bootstrap": broker.ssl_bootstrap}
    plain = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
             "bootstrap": broker.sasl_bootstrap}
    given = {"topic_prefix": f"t{uuid.uuid4().hex[:8]}.", "partitions": 2,
             **(over_tls if tls else plain), **extra}
    return KafkaSettings(sasl_username=broker.scram.name,
                         sasl_password=broker.scram.password if password is None else password,
                         **given)


def answer(t: float) -> Answer:
    return Answer("q-sasl", "is a red circle visible?", "cam-a", t, t + 4.0, t + 4.5, "clip",
                  "yes", True, 0.3, (t + 1.0,), ((0.0, 0.0, 1.0, 1.0),), 10, 5.0)


def take(bus: KafkaBus, topic: str, n: int, timeout: float = 30.0) -> list[Any]:
    consumer = bus.consumer([topic], f"g-{uuid.uuid4().hex[:6]}")
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            got += consumer.poll(max_records=n - len(got), timeout=0.5)
    finally:
        consumer.close()
    return got


@pytest.mark.parametrize("tls", [False, True], ids=["sasl_plaintext", "sasl_ssl"])
def test_connectors_produce_and_consume_over_scram(broker: Any, tls: bool) -> None:
    cfg = scram(broker, tls)
    assert len(ensure_topics(cfg)) == 6
    topics = topics_of(cfg)
    sink = KafkaSegmentSink.from_config(cfg)
    segments = [Segment("cam-a", i, 100.0 + 2 * i, 2.0, bytes([i]) * 2000) for i in range(3)]
    for seg in segments:
        sink.add(seg)
    sink.flush()
    sink.close()
    producer = KafkaBusProducer.from_config(cfg)
    for t in (0.0, 2.0):
        producer.send(topics.answers, *msg.encode_answer(answer(t)))
    producer.close()

    bus = KafkaBus(cfg)
    records = take(bus, topics.segments, 3)
    assert [msg.decode_segment(r.key, r.value, r.headers) for r in records] == segments
    stored = take(bus, topics.answers, 2)
    assert [msg.decode_answer(r.key, r.value).window_start for r in stored] == [0.0, 2.0]

    history = PartitionHistory.from_config(cfg, margin=1e9)  # the warm-up look-back
    reader = SegmentReader.from_config(cfg)  # the clip worker's fetch
    try:
        assert [r.offset for r in history.before(records[-1], seconds=1e9)] == [0, 1]
        place = (records[0].topic, records[0].partition, records[0].offset)
        assert reader.read([place])[place].value == segments[0].data
    finally:
        history.close()
        reader.close()


@pytest.mark.parametrize("build", ["producer", "topics", "consumer"])
def test_a_wrong_password_is_refused_clearly_and_in_bounded_time(broker: Any, build: str) -> None:
    cfg = scram(broker, password="not-the-password", request_timeout_s=DEADLINE_S)
    began = time.monotonic()
    with pytest.raises(KafkaAuthError) as err:
        if build == "producer":
            KafkaBusProducer.from_config(cfg)
        elif build == "topics":
            ensure_topics(cfg)
        else:
            KafkaBus(cfg).consumer(["x"], "g")
    assert time.monotonic() - began < DEADLINE_S  # the login check answers in about 0.3 s
    text = str(err.value)
    assert f"refused the login of {broker.scram.name!r} (SCRAM-SHA-256 over SASL_PLAINTEXT)" in text
    assert "invalid credentials" in text
    assert "not-the-password" not in text and broker.scram.password not in text


def test_an_untrusted_broker_certificate_is_a_tls_error(broker: Any) -> None:
    cfg = scram(broker, tls=True, ssl_cafile="", request_timeout_s=DEADLINE_S)  # system CAs
    began = time.monotonic()
    with pytest.raises(KafkaAuthError, match="TLS with Kafka at .*CERTIFICATE_VERIFY_FAILED"):
        KafkaBusProducer.from_config(cfg)
    assert time.monotonic() - began < DEADLINE_S


def _worker_env(broker: Any, secret: Path) -> dict[str, str]:
    return {
        "FEEDWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "FEEDWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "FEEDWATCH_KAFKA_SASL_USERNAME": broker.scram.name,
        "FEEDWATCH_KAFKA_SASL_PASSWORD_FILE": str(secret),
        "FEEDWATCH_KAFKA_SSL_CAFILE": str(broker.tls.ca),
        "FEEDWATCH_KAFKA_PARTITIONS": "2",
        "FEEDWATCH_KAFKA_REQUEST_TIMEOUT_S": str(DEADLINE_S),
    }


def test_faust_worker_stores_answers_it_consumed_over_scram_tls(broker: Any,
                                                                 tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text(broker.scram.password + "\n")
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    cluster = Cluster(broker.ssl_bootstrap, db, tmp_path, env=_worker_env(broker, secret))
    cfg = scram(broker, tls=True, topic_prefix=cluster.prefix)
    try:
        worker = cluster.worker("sink", role="sink")
        producer = KafkaBusProducer.from_config(cfg)
        for t in (0.0, 2.0, 4.0):
            producer.send(topics_of(cfg).answers, *msg.encode_answer(answer(t)))
        producer.close()
        store = Store.from_url(db)
        try:
            deadline = time.monotonic() + 90
            while len(store.answers(query_id="q-sasl")) < 3 and time.monotonic() < deadline:
                assert worker.alive(), worker.text()[-3000:]
                time.sleep(0.5)
            assert sorted(a.window_start for a in store.answers(query_id="q-sasl")) == [
                0.0, 2.0, 4.0]
        finally:
            store.close()
    finally:
        cluster.close()
    assert broker.scram.password not in worker.text()


def test_a_worker_with_a_wrong_password_exits_with_the_reason(broker: Any,
                                                              tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("not-the-password\n")
    cluster = Cluster(broker.ssl_bootstrap, f"sqlite:///{tmp_path / 'fw.db'}", tmp_path,
                      env=_worker_env(broker, secret))
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "workers.cli", "worker", "--role", "sink"],
                          env=cluster.environ(), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode != 0
    assert time.monotonic() - began < 45  # start-up and imports included
    assert f"refused the login of {broker.scram.name!r}" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout


def test_soak_and_bench_readers_take_the_security_settings_from_the_environment(
    broker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.bench.waterfall import answer_timings
    from workers.soak.report import read_topic

    cfg = scram(broker)
    ensure_topics(cfg)
    producer = KafkaBusProducer.from_config(cfg)
    producer.send(topics_of(cfg).answers, *msg.encode_answer(answer(0.0)))
    producer.close()
    for name in ("security_protocol", "sasl_mechanism", "sasl_username"):
        monkeypatch.setenv(f"FEEDWATCH_KAFKA_{name.upper()}", getattr(cfg, name))
    monkeypatch.setenv("FEEDWATCH_KAFKA_SASL_PASSWORD", broker.scram.password)
    assert len(read_topic(broker.sasl_bootstrap, topics_of(cfg).answers)) == 1
    assert list(answer_timings(broker.sasl_bootstrap, topics_of(cfg).answers)) == [
        ("q-sasl", "cam-a", 4.0)]

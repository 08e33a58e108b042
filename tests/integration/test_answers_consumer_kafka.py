"""The answers consumer over a real Kafka broker: the check the in-process bus passes
(tests/unit/workers/test_answers_consumer.py), record for record, so both modes retry,
store and count alike."""

from __future__ import annotations

import uuid
from pathlib import Path

from connectors.kafka import KafkaBus, ensure_topics, topics_of
from connectors.store import Store
from tests.answers_consumer_check import check
from workers.config import KafkaSettings


def test_retries_rows_dead_letters_and_metrics_over_kafka(kafka_bootstrap: str,
                                                          tmp_path: Path) -> None:
    cfg = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
                        partitions=1)
    ensure_topics(cfg)
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    try:
        check(KafkaBus(cfg), topics_of(cfg), store)
    finally:
        store.close()

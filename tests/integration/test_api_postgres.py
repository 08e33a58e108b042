"""The API's behaviours on a real PostgreSQL (the same checks as on SQLite)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from connectors.store import Store
from tests.unit.workers.api import live_scenarios, scenarios
from tests.unit.workers.api.scenarios import ApiHarness


@pytest.fixture
def harness(fresh_postgres_url: str) -> Iterator[ApiHarness]:
    store = Store.from_url(fresh_postgres_url)
    assert store.engine.dialect.name == "postgresql"
    yield ApiHarness(store)
    store.close()


def test_queries_crud(harness: ApiHarness) -> None:
    scenarios.check_crud(harness)


def test_validation_errors_name_the_field(harness: ApiHarness) -> None:
    scenarios.check_validation(harness)


def test_pagination_is_stable_while_answers_arrive(harness: ApiHarness) -> None:
    scenarios.check_pagination_stable(harness)


def test_answer_filters_and_evidence_images(harness: ApiHarness) -> None:
    scenarios.check_answer_filters_and_evidence(harness)


def test_auth_no_token_read_token_write_token(harness: ApiHarness) -> None:
    scenarios.check_auth(harness)


def test_sse_delivers_newly_stored_answers(harness: ApiHarness) -> None:
    live_scenarios.check_sse_delivers(harness)


def test_sse_delivers_rows_committed_out_of_id_order(harness: ApiHarness) -> None:
    live_scenarios.check_sse_late_commit(harness)


def test_ready_reports_the_database(harness: ApiHarness) -> None:
    body = harness.call("GET", "/ready", None).json()
    assert body["checks"]["database"]["ok"] is True


def test_kafka_mode_publishes_query_changes(fresh_postgres_url: str, kafka_bootstrap: str) -> None:
    """With a Kafka bus, create/update/delete reach the compacted queries topic."""
    from connectors.bus.messages import decode_query
    from connectors.kafka import KafkaBus, ensure_topics
    from workers.config import KafkaSettings

    prefix = f"t{uuid.uuid4().hex[:8]}."
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=1)
    ensure_topics(kafka)
    bus = KafkaBus(kafka)
    store = Store.from_url(fresh_postgres_url)
    h = ApiHarness(store, bus=bus, kafka=kafka)
    try:
        ready = h.call("GET", "/ready", None).json()
        assert ready["checks"]["bus"]["ok"] is True, ready
        qid = h.create("is the dock door open?", every=2, window=6)["id"]
        assert h.call("PATCH", f"/api/queries/{qid}", json={"window": 8}).status_code == 200
        assert h.call("DELETE", f"/api/queries/{qid}").status_code == 204
        consumer = bus.consumer([f"{prefix}queries"], f"g-{prefix}", from_beginning=True)
        records = []
        deadline = time.monotonic() + 30
        while len(records) < 3 and time.monotonic() < deadline:
            records += consumer.poll(max_records=10, timeout=1.0)
        consumer.close()
        decoded = [decode_query(r.key, r.value, r.headers) for r in records]
        assert [k for k, _ in decoded] == [qid] * 3
        assert [q.window if q else None for _, q in decoded] == [6.0, 8.0, None]
    finally:
        bus.close()
        store.close()

"""The API's behaviours on a real PostgreSQL (the same checks as on SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.store import Store
from tests.unit.workers.api import scenarios
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
    scenarios.check_sse_delivers(harness)


def test_ready_reports_the_database(harness: ApiHarness) -> None:
    body = harness.call("GET", "/ready", None).json()
    assert body["checks"]["database"]["ok"] is True

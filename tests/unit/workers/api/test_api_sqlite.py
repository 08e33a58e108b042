"""The API's behaviours on the default SQLite store (PostgreSQL: tests/integration)."""

from __future__ import annotations

from tests.unit.workers.api import live_scenarios, scenarios
from tests.unit.workers.api.scenarios import ApiHarness


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

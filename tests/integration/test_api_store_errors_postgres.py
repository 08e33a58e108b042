"""On PostgreSQL a value the store cannot hold (a NUL character in text) is the client's
422, never a 503 that echoes the SQL statement and its parameters (issue 26)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from connectors.store import Store
from connectors.store.secret_box import new_key
from tests.unit.workers.api.scenarios import READ, ApiHarness

SECRET = "s3cr3t-hook-key"


@pytest.fixture
def harness(fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiHarness]:
    monkeypatch.setenv("FEEDWATCH_HOOKS_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())  # the hook secret is sealed
    store = Store.from_url(fresh_postgres_url)
    assert store.engine.dialect.name == "postgresql"
    yield ApiHarness(store)
    store.close()


def test_a_nul_in_a_hook_name_is_a_422_that_leaks_nothing(
    harness: ApiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "name": "dock\x00alerts", "secret": SECRET}
    with caplog.at_level(logging.INFO):
        resp = harness.call("POST", "/api/hooks", json=body)
    assert resp.status_code == 422, resp.text
    for leak in (SECRET, "INSERT", "127.0.0.1:9"):
        assert leak not in resp.text
        assert leak not in caplog.text
    assert harness.call("GET", "/api/hooks", READ).json() == []


def test_a_nul_in_a_filter_is_a_422_naming_it(harness: ApiHarness) -> None:
    """Before: 422 with ``loc: ["request"]`` (the store's refusal, no field named)."""
    for path, where, name in (("/api/answers?camera=dock%00", "query", "camera"),
                              ("/api/deadletters?stage=s%00", "query", "stage"),
                              ("/api/queries/q%00", "path", "query_id"),
                              ("/api/backfills/j%00", "path", "job_id")):
        resp = harness.call("GET", path, READ)
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"][0]["loc"] == [where, name], path
        assert "SELECT" not in resp.text


def test_rule_fields_with_a_nul_are_a_422_naming_them(harness: ApiHarness) -> None:
    query = harness.create()
    for body, loc in (({"query_id": "q\x00"}, ["body", "query_id"]),
                      ({"query_id": query["id"], "hooks": ["h\x00"]}, ["body", "hooks", 0]),
                      ({"query_id": query["id"], "condition": "text_regex", "pattern": "a\x00"},
                       ["body", "pattern"])):
        resp = harness.call("POST", "/api/rules", json=body)
        assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == loc, resp.text


def test_an_answer_id_past_64_bits_is_a_422_naming_it(harness: ApiHarness) -> None:
    """``answers.id`` is a 64-bit integer (migration 0014); a larger id in a path or in
    ``after`` is the client's 422 naming it, not the store's refusal or a stream cut
    short. An image index is 32 bits."""
    big = 2**63
    for path, loc in ((f"/api/answers/{big}", ["path", "answer_id"]),
                      (f"/api/answers/{big}/feedback", ["path", "answer_id"]),
                      (f"/api/answers/1/evidence/{2**31}.jpg", ["path", "index"]),
                      (f"/api/answers/stream?after={big}", ["query", "after"])):
        resp = harness.call("GET", path, READ)
        assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == loc, resp.text
    assert harness.call("GET", f"/api/answers/{2**31}", READ).status_code == 404
    assert harness.call("GET", f"/api/answers/{big - 1}", READ).status_code == 404

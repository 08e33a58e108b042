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


def test_a_nul_in_a_filter_is_a_422(harness: ApiHarness) -> None:
    resp = harness.call("GET", "/api/answers", READ, params={"camera": "dock\x00"})
    assert resp.status_code == 422, resp.text
    assert "SELECT" not in resp.text

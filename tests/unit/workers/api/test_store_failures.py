"""The API tells a value the store refused (422) from a store outage (503) and says
nothing of the SQL, its parameters or the database's address (issue 26)."""

from __future__ import annotations

import logging

import pytest

from connectors.store import Store
from pipeline.errors import StoreDataError, StoreError
from tests.unit.workers.api.scenarios import READ, ApiHarness

LEAK = 'INSERT INTO cameras ... [parameters: s3cr3t] at "10.9.8.7", port 5432'


def _failing(store: Store, error: Exception) -> None:
    def fail(*_args: object, **_kw: object) -> None:
        raise error

    store.upsert_camera = fail  # type: ignore[method-assign]
    store.cameras = fail  # type: ignore[method-assign]


def test_a_refused_value_is_a_422(sqlite_store: Store) -> None:
    _failing(sqlite_store, StoreDataError("store write failed: DataError"))
    resp = ApiHarness(sqlite_store).call("PUT", "/api/cameras/dock", json={"source": ""})
    assert resp.status_code == 422, resp.text
    assert "store cannot hold" in resp.json()["detail"][0]["msg"]


def test_an_outage_is_a_503_that_names_nothing(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    _failing(sqlite_store, StoreError(f"store read failed: OperationalError: {LEAK}"))
    with caplog.at_level(logging.WARNING):
        resp = ApiHarness(sqlite_store).call("GET", "/api/cameras", READ)
    assert resp.status_code == 503
    assert resp.json() == {"detail": "store unavailable"}
    assert "store unavailable" in caplog.text  # the operator still sees why, in the log

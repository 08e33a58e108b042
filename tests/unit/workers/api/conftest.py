"""Fixtures of the API tests: a fresh SQLite store and a harness over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from tests.unit.workers.api.scenarios import ApiHarness


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'feedwatch.db'}")
    yield store
    store.close()


@pytest.fixture
def harness(sqlite_store: Store) -> ApiHarness:
    return ApiHarness(sqlite_store)

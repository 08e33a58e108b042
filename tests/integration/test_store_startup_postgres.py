"""Processes that start together on one PostgreSQL store: migrations run one at a time."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from connectors.store import current_revision, head_revision
from connectors.store.db import make_engine, upgrade

pytestmark = pytest.mark.integration


def test_processes_migrating_one_fresh_store_together_all_succeed(fresh_postgres_url: str) -> None:
    """Before: the second of an API and a worker started together failed with
    ``relation "cameras" already exists``; now it waits and finds the store at head."""
    engines = [make_engine(fresh_postgres_url) for _ in range(4)]
    gate = threading.Barrier(len(engines))
    outcomes: list[object] = []

    def start(engine: sa.Engine) -> None:
        gate.wait()
        try:
            outcomes.append(upgrade(engine))
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == [head_revision()] * len(engines)
    assert current_revision(engines[0]) == head_revision()
    for engine in engines:
        engine.dispose()

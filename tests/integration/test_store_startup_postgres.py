"""Processes that start together on one PostgreSQL store: migrations run one at a time."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from connectors.retry import RetryPolicy
from connectors.store import Store, current_revision, head_revision, open_store
from connectors.store.db import make_engine, upgrade
from tests.services.postgres import PostgresService

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


def test_a_service_started_before_its_database_opens_the_store_when_it_is_up(
    postgres_url: str, postgres_service: PostgresService
) -> None:
    """Before: ``feedwatch api`` and ``alerts`` exited at once when PostgreSQL was not
    up yet (a deployment that starts everything together); now they wait for it."""
    postgres_service.stop()
    opened: list[object] = []

    def start() -> None:
        try:
            opened.append(open_store(postgres_url, wait=True,
                                     retry=RetryPolicy(initial=0.1, maximum=0.3, attempts=0)))
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            opened.append(exc)

    service = threading.Thread(target=start)
    service.start()
    time.sleep(1.0)
    assert opened == []  # still waiting
    postgres_service.start()
    service.join(30)
    [store] = opened
    assert isinstance(store, Store) and current_revision(store.engine) == head_revision()
    store.close()

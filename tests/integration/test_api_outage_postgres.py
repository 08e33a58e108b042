"""The API while PostgreSQL goes away and comes back: requests answer 503 and then 200
again by themselves, and an open answers stream stays open and goes on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from connectors.store import Store
from tests.services.postgres import PostgresService
from tests.unit.workers.api.live_scenarios import SseReader
from tests.unit.workers.api.scenarios import READ, ApiHarness, answer

pytestmark = pytest.mark.integration


@pytest.fixture
def harness(fresh_postgres_url: str) -> Iterator[ApiHarness]:
    store = Store.from_url(fresh_postgres_url)
    yield ApiHarness(store, api={"sse_keepalive_s": 0.3, "sse_poll_s": 0.2})
    store.close()


def test_a_stream_survives_the_database_going_away(
    harness: ApiHarness, postgres_service: PostgresService
) -> None:
    """Before: the stream's next poll raised inside a started response, so the stream
    was cut with a traceback in the log (and a resume while the database was away, the
    same); now it waits with ``: store unavailable`` comments and goes on."""
    with harness.served() as url:
        reader = SseReader(f"{url}/api/answers/stream", READ)
        try:
            assert reader.connected.wait(10)
            harness.store.insert_answers([answer("q1", "dock", 10.0)])
            assert len(reader.wait_for(1)) == 1
            postgres_service.stop()
            listing = httpx.get(f"{url}/api/answers", headers={"Authorization": f"Bearer {READ}"})
            assert listing.status_code == 503 and "store unavailable" in listing.text
            time.sleep(1.0)  # several polls fail meanwhile
            postgres_service.start()
            harness.store.insert_answers([answer("q1", "dock", 20.0)])
            events = reader.wait_for(2)
            assert [e["window_end"] for _, e in events] == [10.0, 20.0]
            assert reader.error is None
            listing = httpx.get(f"{url}/api/answers", headers={"Authorization": f"Bearer {READ}"})
            assert listing.status_code == 200 and len(listing.json()["items"]) == 2
        finally:
            reader.close()

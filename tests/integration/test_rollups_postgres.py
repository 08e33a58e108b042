"""Answers over time on a real PostgreSQL: the synthetic stream's runs and summaries
match the truth to the second through both modes' store path, with writers racing,
through the API (a DST change inside the range), the views and a rebuild."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connectors.store import Store
from connectors.store.rollups.rebuild import rebuild_rollups
from tests import answer_stream as truth
from tests.unit.workers.api.scenarios import READ, ApiHarness

pytestmark = pytest.mark.integration


@pytest.fixture
def store(fresh_postgres_url: str) -> Iterator[Store]:
    s = Store.from_url(fresh_postgres_url)
    yield s
    s.close()


def test_the_sink_keeps_the_truth_on_postgres(store: Store) -> None:
    truth.store_embedded(store)
    truth.check_truth(store)


def test_the_answers_consumer_keeps_the_truth_on_postgres(store: Store) -> None:
    truth.store_via_kafka_sink(store)
    truth.check_truth(store)


def test_racing_writers_count_each_answer_once(store: Store) -> None:
    """Three writers store the whole stream at once, each in its own order (a rebalance
    that redelivers everything): the per-camera lock keeps the rollups exact."""
    errors: list[BaseException] = []

    def write(seed: int) -> None:
        rng, answers = random.Random(seed), truth.stream()
        rng.shuffle(answers)
        try:
            for i in range(0, len(answers), 5):
                store.insert_answers(answers[i:i + 5])
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    truth.check_truth(store)


def test_the_api_summarises_across_a_dst_change(store: Store) -> None:
    truth.store_embedded(store)
    h = ApiHarness(store)
    days = h.call("GET", "/api/answers/summary", token=READ, params={
        "since": "2023-11-03", "until": "2023-11-16", "bucket": "1d",
        "tz": "America/New_York"}).json()
    by_day = {b["local"][:10]: b["matched_s"] for b in days["buckets"]}
    assert by_day["2023-11-14"] == 331.0 and sum(by_day.values()) == 331.0
    assert days["buckets"][2]["end"] - days["buckets"][2]["start"] == 25 * 3600  # Nov 5
    runs = h.call("GET", "/api/answers/runs", token=READ, params={"since": "3m"}).json()
    assert [r["start"] - truth.T0 for r in runs["items"]] == [441, 421, 306]


def test_views_documented_queries_and_rebuild_on_postgres(store: Store) -> None:
    truth.store_embedded(store)
    truth.check_documented_queries(store)
    with store.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT sum(matched_s) FROM feedwatch_minutes")).scalar() == 331
        started = conn.execute(sa.text(
            "SELECT started_at FROM feedwatch_runs ORDER BY start_s LIMIT 1")).scalar()
        assert started.isoformat() == "2023-11-14T22:01:00+00:00"
        conn.execute(sa.text("DELETE FROM answer_runs"))
        conn.execute(sa.text("DELETE FROM answer_minutes"))
    assert rebuild_rollups(store.engine, batch=50).answers == len(truth.stream())
    truth.check_truth(store)

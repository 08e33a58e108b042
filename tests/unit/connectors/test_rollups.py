"""Runs and minute rollups kept as answers are stored (SQLite; PostgreSQL in
tests/integration/test_rollups_postgres.py): the synthetic stream's truth, to the
second, through the store's sink and through the answers consumer that both modes
(``feedwatch run``'s in-process bus, Kafka) run; the Kafka scale-out run and ``feedwatch
run`` itself are checked in tests/integration/test_kafka_scaleout.py and
tests/e2e/test_run.py."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connectors.store import Store
from connectors.store.retention import Pruner, RetentionPolicy
from connectors.store.rollups.reads import RollupReads
from connectors.store.rollups.rebuild import rebuild_rollups
from pipeline.types import Answer
from tests import answer_stream as truth


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'rollups.db'}")
    yield s
    s.close()


def test_the_sink_keeps_rollups_to_the_second(store: Store) -> None:
    truth.store_embedded(store)
    truth.check_truth(store)


def test_the_answers_consumer_keeps_the_same_rollups(store: Store) -> None:
    truth.store_via_kafka_sink(store)
    truth.check_truth(store)


def test_redelivery_changes_no_rollup(store: Store) -> None:
    truth.store_embedded(store)
    before = _dump(store)
    assert store.insert_answers(truth.stream()) == 0
    assert _dump(store) == before


def test_rebuild_from_answers_gives_the_same_rollups(store: Store) -> None:
    truth.store_embedded(store)
    before = _dump(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM answer_runs"))
        conn.execute(sa.text("DELETE FROM answer_minutes"))
    result = rebuild_rollups(store.engine, batch=37)
    assert result.answers == len(truth.stream()) and result.batches > 5
    assert _dump(store) == before
    truth.check_truth(store)


def test_any_delivery_order_gives_the_rollups_of_a_reference(tmp_path) -> None:
    """Random streams (gaps, versions, phase shifts, unknown answers) stored in random
    order give what a brute-force reference computes from the sorted stream."""
    rng = random.Random(5)
    for trial in range(20):
        answers = _random_stream(rng)
        store = Store.from_url(f"sqlite:///{tmp_path / f'r{trial}.db'}")
        shuffled = answers + rng.sample(answers, len(answers) // 3)
        rng.shuffle(shuffled)
        for i in range(0, len(shuffled), rng.randint(1, 9)):
            store.insert_answers(shuffled[i:i + 9])
        runs = sorted(RollupReads(store.engine).runs(0, 1e11, limit=1000), key=lambda r: r.start)
        got = [(r.start, r.end, r.windows, round(r.matched_s, 6)) for r in runs]
        assert got == truth.reference_runs(answers)
        with store.engine.connect() as conn:
            total = conn.execute(sa.text("SELECT sum(matched_s) FROM answer_minutes")).scalar()
        assert round(total or 0.0, 6) == round(truth.union([(a.window_end - a.every, a.window_end)
                                                        for a in answers if a.matched]), 6)
        store.close()


def test_retention_prunes_rollups_on_their_own_horizon(store: Store) -> None:
    truth.store_embedded(store)
    Pruner(store.engine, RetentionPolicy(answers=10_000, rollups=180)).prune()
    runs = RollupReads(store.engine).runs(0, 1e11, limit=100)
    assert sorted(r.start - truth.T0 for r in runs) == [306, 421, 441]  # ended after 499-180
    assert store.count_answers() == len(truth.stream())
    with store.engine.connect() as conn:
        oldest = conn.execute(sa.text("SELECT min(minute) FROM answer_minutes")).scalar()
    assert oldest == truth.T0 + 300  # the minute holding the cutoff (319) is kept


def test_continuous_pruning_visits_the_rollups_hourly(store: Store) -> None:
    truth.store_embedded(store)
    now = [0.0]
    pruner = Pruner(store.engine, RetentionPolicy(rollups=180), clock=lambda: now[0])
    assert pruner.maybe_prune() is not None and pruner.totals.deleted["rollups"] > 0
    store.insert_answers([truth.answer(5000, True, 2)])  # moves the stream clock on
    now[0] = 3599.0
    assert pruner.maybe_prune() is None  # the default 10 s interval is not the rollups'
    now[0] = 3600.0
    assert pruner.maybe_prune() is not None
    runs = RollupReads(store.engine).runs(0, 1e11, limit=100)
    assert [r.start for r in runs] == [truth.T0 + 4998]  # the older runs went at 3600 s


def test_the_views_read_like_the_tables(store: Store) -> None:
    truth.store_embedded(store)
    with store.engine.connect() as conn:
        runs = conn.execute(sa.text(
            "SELECT start_s, duration_s, matched_s, backfilled, question, started_at "
            "FROM feedwatch_runs ORDER BY start_s")).all()
        minutes = conn.execute(sa.text(
            "SELECT sum(matched_s), sum(windows) FROM feedwatch_minutes")).one()
    assert [(r[0] - truth.T0, r[1], r[2], r[3]) for r in runs] == [
        (60, 120, 120, 0), (240, 60, 60, 0), (306, 95, 91, 0), (421, 20, 20, 0), (441, 40, 40, 1)
    ]
    assert runs[0].started_at == "2023-11-14 22:01:00"
    assert tuple(minutes) == (331.0, len(truth.stream()))


def test_the_documented_sqlite_queries_see_the_truth(store: Store) -> None:
    truth.store_embedded(store)
    truth.check_documented_queries(store)


def _dump(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        runs = conn.execute(sa.text(
            "SELECT query_id, camera_id, query_version, run_start, run_end, first_end, windows,"
            " matched_s, peak_score, backfilled FROM answer_runs ORDER BY run_start")).all()
        minutes = conn.execute(sa.text(
            "SELECT * FROM answer_minutes WHERE windows != 0 OR matched_s != 0 OR runs_started != 0"
            " ORDER BY query_id, camera_id, minute")).all()
    return _rounded(runs), _rounded(minutes)


def _rounded(rows: list[sa.Row[tuple[object, ...]]]) -> list[tuple[object, ...]]:
    """Rows with floats to 9 digits (sums in another order differ in the last bits)."""
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]


def _random_stream(rng: random.Random) -> list[Answer]:
    every = rng.choice([1.0, 2.0, 5.0])
    t, version, out = 1000.0, 1, []
    for _ in range(rng.randint(40, 160)):
        t += every * rng.choice([1, 1, 1, 1, 2, 3, 4]) + rng.choice([0.0, 0.0, 0.0, 0.5])
        version += rng.random() < 0.03
        matched = rng.choice([True, True, True, False, None])
        out.append(Answer("q", "?", "c", t - 4, t, 0.0, "clip", "", matched, rng.random(), (), (),
                          0, 0.0, every=every, query_version=version))
    return out

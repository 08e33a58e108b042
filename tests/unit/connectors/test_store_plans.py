"""Reads that must not grow with history: every statement the answer list, the rollup
summaries and runs, the cameras' newest answers and the retention clocks send reads
``answers`` and ``answer_minutes`` by index seeks, never a scan of either (SQLite's
own plan, ``EXPLAIN QUERY PLAN``; a store without statistics plans the same whatever its
size, which is what the product runs). The answers they give are checked against plain
SQL over the same rows. Timings on a store with months of history are in
docs/performance.md ("A store with months of history")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from connectors.store import Store, make_engine, upgrade
from connectors.store.answer_listing import Listing, stored_answers
from connectors.store.db import alembic_config
from connectors.store.models import AnswerRow
from connectors.store.reads import AnswerFilter, Reads
from connectors.store.retention import Pruner, RetentionPolicy
from connectors.store.rollups.reads import RollupReads
from connectors.store.rollups.summary import report, summarize
from pipeline.types import Answer

BIG = ("answers", "answer_minutes")
T0 = 1_700_000_000.0


def answer(q: str, camera: str, end: float, every: float = 2.0, yes: bool = False) -> Answer:
    return Answer(
        query_id=q, camera=camera, question=f"question {q}?", window_start=end - 4,
        window_end=end, evaluated_at=end, answerer="clip", text="yes" if yes else "no",
        matched=yes, score=0.3, frames=(end - 1,), rois=((0.0, 0.0, 1.0, 1.0),),
        visual_tokens=1, latency_ms=1.0, every=every, query_version=1,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'plans.db'}")
    rows = []
    for k in range(40):  # three questions on three cameras; equal window ends across series
        for q in ("q-a", "q-b", "q-c"):
            for cam in ("cam-1", "cam-2", "cam-3"):
                rows.append(answer(q, cam, T0 + 10 * k, every=10.0, yes=k % 7 < 3))
    rows.append(answer("q-c", "cam-9", T0 + 2000, every=3600.0, yes=True))  # a long step
    s.insert_answers(rows)
    yield s
    s.close()


@contextmanager
def scans(engine: sa.Engine) -> Iterator[list[str]]:
    """The plan lines of every SELECT sent meanwhile that scan ``answers`` or
    ``answer_minutes`` (the whole table or a whole index)."""
    sent: list[tuple[str, object]] = []

    def seen(conn: object, cursor: object, stmt: str, params: object, *_: object) -> None:
        if stmt.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((stmt, params))

    sa.event.listen(engine, "before_cursor_execute", seen)
    found: list[str] = []
    try:
        yield found
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for stmt, params in sent:
            plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {stmt}", params)]
            found += [f"{line}  <-  {' '.join(stmt.split())[:200]}"
                      for line in _unbounded(plan, stmt)]
    assert sent, "nothing was read"


def _unbounded(plan: list[str], stmt: str) -> list[str]:
    """Plan lines that read ``answers``/``answer_minutes`` whole: a scan of the table, a
    walk of a whole index without a LIMIT to stop it, or a sort of what was read (an
    index walked in the order asked, up to a LIMIT, reads only what it returns). SQLite
    calls ``min(minute)`` over the whole key a SEARCH of it without a constraint."""
    walks = [line for line in plan for t in BIG if line == f"SCAN {t}" or (
        line.startswith(f"SCAN {t} ") and ("USING" not in line or " LIMIT " not in stmt))
        or (line.startswith(f"SEARCH {t} ") and "(" not in line)]  # min() of a later column
    touches = any(f" {t}" in line for line in plan for t in BIG)
    return walks + [line for line in plan if touches and "TEMP B-TREE FOR ORDER BY" in line]


def test_answer_pages_read_an_index_in_order_at_any_depth(store: Store) -> None:
    reads = Reads(store)
    filters = [AnswerFilter(), AnswerFilter(query_id="q-b"), AnswerFilter(camera="cam-2"),
               AnswerFilter(query_id="q-b", camera="cam-2"), AnswerFilter(matched=True)]
    with scans(store.engine) as found:
        for f in filters:
            page, cursor = reads.answers_page(f, 5, None)
            deep, _ = reads.answers_page(f, 5, cursor)
            assert page and deep
    assert found == []


def test_the_cli_listing_reads_an_index_in_order_page_by_page(store: Store) -> None:
    """``feedwatch answers`` over all of history: each page an index range, no sort."""
    with scans(store.engine) as found:
        for listing in (Listing(), Listing(since=T0 + 100), Listing(camera="cam-2")):
            assert len(list(stored_answers(store, listing, page=10))) > 10
    assert found == []


def test_keyset_pages_give_every_answer_once_newest_first(store: Store) -> None:
    reads = Reads(store)
    for f in (AnswerFilter(), AnswerFilter(query_id="q-a"), AnswerFilter(matched=False)):
        got, cursor = [], None
        while True:
            page, cursor = reads.answers_page(f, 7, cursor)  # 7: pages split equal ends
            got += [(s.answer.window_end, s.id) for s in page]
            if cursor is None:
                break
        with store.engine.connect() as conn:
            want = conn.execute(f.where(sa.select(AnswerRow.window_end, AnswerRow.id))
                                .order_by(AnswerRow.window_end.desc(), AnswerRow.id.desc())).all()
        assert got == [tuple(r) for r in want]


def test_rollup_reads_seek_the_series_and_agree_with_a_full_read(store: Store) -> None:
    reads = RollupReads(store.engine)
    with store.engine.connect() as conn:
        truth = conn.execute(sa.text(
            "SELECT query_id, camera_id, max(last_end) FROM answer_minutes "
            "GROUP BY query_id, camera_id")).all()
    newest = {(q, c): t for q, c, t in truth}
    with scans(store.engine) as found:
        assert reads.series() == sorted(newest)
        assert reads.newest() == max(newest.values())
        assert reads.newest("q-c") == T0 + 2000  # the long step's end, in an early minute
        assert reads.newest(camera="cam-2") == newest[("q-a", "cam-2")]
        assert reads.newest("q-a", "cam-9") is None
        days = {(q, cam): summarize(reads, query_id=q, camera=cam, since="1h", bucket="5m")
                for q, cam in ((None, None), ("q-b", None), (None, "cam-3"), ("q-b", "cam-3"))}
        whole, _ = report(reads, queries=["q-b"], cameras=["cam-3"])  # everything stored
        everything, _ = report(reads)
        runs = reads.runs(T0, T0 + 10_000, limit=50)
        assert runs and all(r.first_answer_id is not None for r in runs)
    assert found == []
    assert [(s.query_id, s.camera, s.windows) for s in whole.series] == [("q-b", "cam-3", 40)]
    assert sum(s.windows for s in everything.series) == 9 * 40 + 1
    for (q, cam), day in days.items():
        assert day.since is not None and day.until is not None
        with store.engine.connect() as conn:
            want = conn.execute(sa.text(
                "SELECT sum(windows) FROM answer_minutes WHERE minute >= :a AND minute < :b "
                "AND (:q IS NULL OR query_id = :q) AND (:c IS NULL OR camera_id = :c)"),
                {"a": day.since, "b": day.until, "q": q, "c": cam}).scalar()
        assert day.windows == want > 0


def test_newest_answers_and_retention_clocks_seek_per_camera(store: Store) -> None:
    with scans(store.engine) as found:
        last = Reads(store).last_answer_times()
        policy = RetentionPolicy(answers=60.0, rollups=86400.0)
        clocks = Pruner(store.engine, policy).stream_clocks()
    assert found == []
    assert last == {"cam-1": T0 + 390, "cam-2": T0 + 390, "cam-3": T0 + 390, "cam-9": T0 + 2000}
    assert clocks == last


def test_migration_0013_adds_the_list_indexes_and_takes_them_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0012_dead_letters")
    store = Store(engine)
    store.insert_answers([answer("q-a", "cam-1", T0)])
    assert upgrade(engine, "0013_answer_list_indexes") == "0013_answer_list_indexes"
    names = {i["name"] for i in sa.inspect(engine).get_indexes("answers")}
    assert {"ix_answers_end_id", "ix_answers_query_end_id"} <= names
    assert Reads(store).answers_page(AnswerFilter(query_id="q-a"), 5, None)[0]
    command.downgrade(alembic_config(engine), "0012_dead_letters")
    names = {i["name"] for i in sa.inspect(engine).get_indexes("answers")}
    assert not {"ix_answers_end_id", "ix_answers_query_end_id"} & names
    engine.dispose()

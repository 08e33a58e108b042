"""The SQL store on SQLite: migrations, idempotent answers + evidence, queries, filters, sink."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.store import (
    AnswerSink,
    MemoryAnswerSink,
    Store,
    current_revision,
    head_revision,
    parse_url,
)
from pipeline.errors import BackpressureError, ConfigError, StoreError
from pipeline.types import Answer, Evidence, StandingQuery


def answer(
    end: float, *, query: str = "q-1", camera: str = "door", matched: bool = True, evidence: int = 2
) -> Answer:
    ev = tuple(
        Evidence(end - 1 - i, bytes([255, 216, i]), (0.0, 0.0, 0.5, 0.5)) for i in range(evidence)
    )
    return Answer(
        query,
        "a red circle",
        camera,
        end - 4,
        end,
        1_700_000_000.0 + end,
        "clip",
        "yes" if matched else "no",
        matched,
        0.3 if matched else 0.1,
        (end - 2, end - 1),
        ((0.0, 0.0, 0.5, 0.5), (0.25, 0.25, 0.75, 0.75)),
        30,
        5.0,
        {"clip": "tiny"},
        ev,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.from_url(f"sqlite:///{tmp_path / 'sub' / 'fw.db'}")
    yield s
    s.close()


def test_from_url_creates_folder_and_migrates_to_head(tmp_path: Path, store: Store) -> None:
    assert (tmp_path / "sub" / "fw.db").is_file()
    assert current_revision(store.engine) == head_revision()
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"cameras", "queries", "answers", "evidence", "alembic_version"} <= tables
    assert store.upgrade() == head_revision()  # idempotent


def test_a_store_a_newer_release_migrated_is_refused_in_one_line(tmp_path: Path,
                                                                  store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_newer'"))
    with pytest.raises(StoreError) as info:
        Store.from_url(f"sqlite:///{tmp_path / 'sub' / 'fw.db'}", upgrade=True)
    msg = str(info.value)
    assert "\n" not in msg and "0099_newer" in msg and str(head_revision()) in msg
    assert "a newer feedwatch migrated it" in msg


def test_a_file_store_logs_ahead_and_syncs_every_commit(tmp_path: Path, store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.insert_answers([answer(4.0)])
    other = Store.from_url(f"sqlite:///{tmp_path / 'sub' / 'fw.db'}")  # a second process
    assert [a.window_end for a in other.answers()] == [4.0]
    other.close()


def test_inserting_twice_keeps_one_row_and_one_set_of_evidence(store: Store) -> None:
    a = answer(4.0)
    assert store.insert_answers([a]) == 1
    assert store.insert_answers([a, replace(a, text="changed")]) == 0
    assert store.count_answers() == 1
    assert store.answers()[0].text == "yes"
    ev = store.evidence("q-1", "door", 4.0)
    assert [e.jpeg for e in ev] == [e.jpeg for e in a.evidence]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from evidence")).scalar() == 2


def test_unique_key_is_query_camera_window_end(store: Store) -> None:
    rows = [answer(4.0), answer(5.0), answer(4.0, camera="yard"), answer(4.0, query="q-2")]
    assert store.insert_answers(rows) == 4
    assert store.insert_answers(rows) == 0


def test_answers_round_trip_and_filters(store: Store) -> None:
    store.insert_answers([answer(4.0, matched=False), answer(5.0), answer(6.0, camera="yard")])
    got = store.answers(camera="door")
    assert [a.window_end for a in got] == [4.0, 5.0]
    assert replace(got[1], evidence=()) == replace(answer(5.0), evidence=())
    assert [a.window_end for a in store.answers(matched=True)] == [5.0, 6.0]
    assert [a.window_end for a in store.answers(since=5.0)] == [5.0, 6.0]
    assert len(store.answers(question="RED CIRC")) == 3
    assert store.answers(question="forklift") == []
    assert len(store.answers(limit=2)) == 2


def test_queries_and_cameras_upsert(store: Store) -> None:
    q = StandingQuery("q-1", "a red circle", ("door",), 1.0, 4.0, "clip", {"mode": "margin"})
    store.upsert_query(q)
    store.upsert_query(replace(q, every=2.0))
    assert store.queries() == [replace(q, every=2.0)]
    store.delete_query("q-1")
    assert store.queries() == [] and len(store.queries(include_deleted=True)) == 1
    store.upsert_camera("door", "a.mp4")
    store.upsert_camera("door", "b.mp4")
    assert store.cameras() == [("door", "b.mp4")]


def test_delete_answers_cascades_to_evidence(store: Store) -> None:
    store.insert_answers([answer(4.0), answer(4.0, query="q-2")])
    assert store.delete_answers("q-1") == 1
    assert store.evidence("q-1", "door", 4.0) == []
    assert len(store.evidence("q-2", "door", 4.0)) == 2


def test_sink_batches_until_flush_and_is_idempotent(store: Store) -> None:
    sink = AnswerSink(store, max_pending=3)
    sink.add(answer(4.0))
    sink.add(answer(5.0))
    assert store.count_answers() == 0  # nothing written before flush
    assert sink.flush() == 2
    sink.add(answer(5.0))
    sink.add(answer(6.0))
    assert sink.flush() == 1
    assert store.count_answers() == 3 and sink.pending == 0


def test_sink_backpressure_when_full_keeps_the_batch(store: Store) -> None:
    sink = AnswerSink(store, max_pending=1, retry_after=0.25)
    sink.add(answer(4.0))
    with pytest.raises(BackpressureError) as err:
        sink.add(answer(5.0))
    assert err.value.retry_after == 0.25
    assert sink.flush() == 1


def test_sink_backpressure_on_locked_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    store = Store.from_url(url)
    store.engine.dispose()
    store.engine = sa.create_engine(url, connect_args={"timeout": 0.05})
    blocker = sa.create_engine(url).connect()
    blocker.exec_driver_sql("BEGIN EXCLUSIVE")
    sink = AnswerSink(store, retry_after=0.5)
    sink.add(answer(4.0))
    with pytest.raises(BackpressureError):
        sink.flush()
    assert sink.pending == 1  # kept for the retry
    blocker.rollback()
    blocker.close()
    assert sink.flush() == 1


def test_bad_urls_are_config_errors() -> None:
    for url in ("mysql://u@h/db", "not a url", ""):
        with pytest.raises(ConfigError):
            parse_url(url)
    assert parse_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert parse_url("postgres://u@h/db").drivername == "postgresql+psycopg"


def test_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        Store.from_url("postgresql://nobody:x@127.0.0.1:1/none")


def test_memory_sink_double_behaves_like_the_sql_sink() -> None:
    sink = MemoryAnswerSink(max_pending=2)
    sink.add(answer(4.0))
    sink.add(answer(4.0))
    with pytest.raises(BackpressureError):
        sink.add(answer(5.0))
    assert sink.flush() == 1 and list(sink.rows) == [("q-1", "door", 4.0)]


def test_a_store_on_a_read_only_mount_is_named_as_such(store: Store, monkeypatch) -> None:
    """(root writes through file modes; only a read-only mount refuses it: stood in for
    by what ``os.access`` answers there)."""
    from connectors.store import db

    assert db._read_only(store.engine) == ""
    monkeypatch.setattr(db.os, "access", lambda path, mode: False)
    assert "read-only here" in db._read_only(store.engine)

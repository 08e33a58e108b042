"""The store on a real PostgreSQL: migrations, idempotent answers, concurrent redelivery."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connectors.store import (
    AnswerSink,
    Store,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from connectors.store.reads import Reads
from pipeline.types import Answer, Evidence, StandingQuery

pytestmark = pytest.mark.integration


def answer(end: float, camera: str = "door") -> Answer:
    ev = (Evidence(end - 1, b"\xff\xd8\x00jpeg", (0.1, 0.2, 0.6, 0.7)),)
    return Answer(
        "q-pg",
        "a red circle",
        camera,
        end - 4,
        end,
        1_700_000_000.0 + end,
        "clip",
        "yes",
        True,
        0.42,
        (end - 1,),
        ((0.1, 0.2, 0.6, 0.7),),
        12,
        3.5,
        {"clip": "tiny"},
        ev,
    )


@pytest.fixture
def store(fresh_postgres_url: str) -> Iterator[Store]:
    s = Store.from_url(fresh_postgres_url)
    yield s
    s.close()


def test_migrates_to_head_and_twice_is_harmless(store: Store) -> None:
    assert store.engine.dialect.name == "postgresql"
    assert current_revision(store.engine) == head_revision()
    assert store.upgrade() == head_revision()
    assert {"cameras", "queries", "answers", "evidence"} <= set(
        sa.inspect(store.engine).get_table_names()
    )


def test_insert_twice_keeps_one_row_with_its_evidence(store: Store) -> None:
    sink = AnswerSink(store)
    for _ in range(2):
        sink.add(answer(4.0))
        sink.add(answer(5.0))
    assert sink.flush() == 2
    sink.add(answer(4.0))
    assert sink.flush() == 0
    assert store.count_answers() == 2
    got = store.answers(camera="door")
    assert got[0].model_ids == {"clip": "tiny"} and got[0].rois == ((0.1, 0.2, 0.6, 0.7),)
    assert store.evidence("q-pg", "door", 4.0)[0].jpeg == b"\xff\xd8\x00jpeg"


def test_concurrent_redelivery_keeps_one_row(store: Store) -> None:
    rows = [answer(float(e)) for e in range(4, 24)]
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            store.insert_answers(rows)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count_answers() == len(rows)


def test_queries_upsert_and_filters(store: Store) -> None:
    q = StandingQuery("q-pg", "a red circle", ("door",), 1.0, 4.0, "clip", {"threshold": 0.3})
    store.upsert_query(q)
    store.upsert_query(q)
    assert store.queries() == [q]
    store.insert_answers([answer(4.0), answer(5.0, camera="yard")])
    assert [a.camera for a in store.answers(question="RED", since=4.5)] == ["yard"]


def test_saved_trackers_write_what_changed_and_reload_exactly(store: Store) -> None:
    from connectors.store.feedback import StoreStates, load_state
    from connectors.store.tracker_states import reset_trackers, save_state
    from pipeline.answerers.baseline import ABSENT, PRESENT, BaselineState, Evidence, Rule

    rule, state = Rule(horizon_s=30.0), BaselineState()
    states = StoreStates(store)
    states.load("q-pg", "door")
    for i in range(40):  # 1.7e9-second window ends, as live cameras have
        key = 1_700_000_000.25 + i
        state = state.observe(key, Evidence(0.01 * i, -1.0, 0.05), PRESENT if i > 30 else ABSENT,
                              rule, relabel_below=0.35 if i == 39 else None)
        states.save("q-pg", "door", state)
    saved = load_state(store, "q-pg", "door")
    assert saved.samples == state.samples and len(saved.samples) == 30
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM answerer_samples")).scalar() == 30
    assert reset_trackers(store, "q-pg") == 1
    assert load_state(store, "q-pg", "door").samples == ()
    assert not save_state(store, "q-pg", "door", state, None, 1.0, ())  # the reset wins


def test_the_segment_index_counts_the_records_it_added(store: Store) -> None:
    from connectors.store.segment_index import IndexedSegment, SegmentIndex

    index = SegmentIndex(store.engine)
    seg = IndexedSegment("door", 1, 0.0, 2.0, 0.0, "segments", 0, 7, 1.0)
    later = IndexedSegment("door", 2, 2.0, 4.0, 0.0, "segments", 0, 8, 1.0)
    assert index.add([seg]) == 1
    assert index.add([seg, later]) == 1  # the record seen again is skipped


def _column_types(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as c:
        rows = c.execute(sa.text(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema()")).all()
    return {name: kind for name, kind in rows}


def test_ids_are_64_bit_from_migration_0014_on_and_its_data_kept(fresh_postgres_url: str
                                                                 ) -> None:
    """Before 0014 ``answers.id`` was a 32-bit serial: past 2,147,483,647 every answer
    was refused (a dead letter each). A store migrated up to 0013 with an answer in it is
    upgraded: the answer is kept, ids, offsets and clip sizes are ``bigint``, and the
    sequence goes on past 2^31."""
    engine = make_engine(fresh_postgres_url)
    upgrade(engine, "0013_answer_list_indexes")
    assert _column_types(engine)["answers.id"] == "integer"
    before = Store(engine)
    sink = AnswerSink(before)
    sink.add(answer(4.0))
    assert sink.flush() == 1
    assert upgrade(engine) == head_revision()
    kinds = _column_types(engine)
    for column in ("answers.id", "answer_runs.id", "dead_letters.id", "deliveries.id",
                   "delivery_attempts.id", "delivery_attempts.delivery_id",
                   "answer_feedback.id", "answer_feedback.answer_id",
                   "incidents.open_answer_id", "segment_index.kafka_offset",
                   "segment_index.seq", "incident_clips.bytes", "incident_clips.source_bytes"):
        assert kinds[column] == "bigint", column
    with engine.connect() as c:  # the view over answer_runs was made again
        assert c.execute(sa.text("SELECT count(*) FROM feedwatch_runs")).scalar_one() == 1
    with engine.begin() as c:
        c.execute(sa.text("SELECT setval(pg_get_serial_sequence('answers', 'id'), 3000000000)"))
    store = Store.from_url(fresh_postgres_url)
    sink = AnswerSink(store)
    for end in (5.0, 6.0, 7.0):
        sink.add(answer(end))
    assert sink.flush() == 3
    with engine.connect() as c:
        ids = [row[0] for row in c.execute(sa.text("SELECT id FROM answers ORDER BY id"))]
    assert len(ids) == 4 and ids[0] < 2**31 and ids[1] == 3_000_000_001
    assert Reads(store).answer(ids[3]) is not None  # the API's read of one
    store.close()
    engine.dispose()

"""Saved trackers one window per row (SQLite, no services): a worker writes only what
changed, a reload is exactly what was saved, resets and takeovers are never
overwritten, rows of an older rule version never come back; migration 0011 moves the
JSON trackers into rows and back."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from connectors.store import Store, make_engine, upgrade
from connectors.store.db import alembic_config
from connectors.store.feedback import StoreStates, load_state
from connectors.store.tracker_states import (
    AnswererSampleRow,
    load_saved,
    reset_trackers,
    save_state,
)
from pipeline.answerers.baseline import ABSENT, PRESENT, BaselineState, Evidence, Rule
from tests.unit.connectors.clip_answers import answer, clip, window_scores

RULE = Rule(horizon_s=60.0)


def _rows(store: Store) -> list[tuple[float, int]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT window_end, verdict FROM answerer_samples ORDER BY window_end")))


def _count_inserted(store: Store) -> list[int]:
    """Sample rows inserted per statement, recorded as they go out."""
    seen: list[int] = []

    def before(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO ANSWERER_SAMPLES"):
            seen.append(len(params) if many else 1)

    sa.event.listen(store.engine, "before_cursor_execute", before)
    return seen


def _state(n: int, start: float = 0.0) -> BaselineState:
    state = BaselineState()
    for i in range(n):
        state = state.observe(start + i, Evidence(-0.1 + 0.001 * i, -2.0, 0.05), ABSENT, RULE)
    return state


def test_a_worker_writes_one_row_per_new_window_and_a_reload_is_exact(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/a.db")
    answerer = clip(StoreStates(store))
    scores = window_scores(3)
    for t in range(60):
        answer(answerer, float(t), scores[t])
    inserted = _count_inserted(store)
    answer(answerer, 60.0, scores[60])
    assert inserted == [1]  # not the 61 windows again
    saved = load_state(store, "q", "cam")
    assert [s[0] for s in saved.samples] == [float(t) for t in range(61)]
    assert saved.samples == answerer.states.load("q", "cam").samples
    assert _rows(store) == [(s[0], s[4]) for s in saved.samples]


def test_relabelled_and_expired_windows_are_rewritten_and_deleted(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/b.db")
    before = _state(60)
    assert save_state(store, "q", "cam", before, None, 1.0, ())
    relabelled = BaselineState(tuple((*s[:4], PRESENT) if s[0] >= 50 else s
                                     for s in before.samples))
    later = relabelled.observe(70.0, Evidence(0.2, 1.0, 0.05), PRESENT, RULE)  # 0…9 leave
    inserted = _count_inserted(store)
    assert save_state(store, "q", "cam", later, 1.0, 2.0, before.samples)
    assert sum(inserted) == 11  # ten relabelled windows and the new one
    assert load_state(store, "q", "cam").samples == later.samples
    assert [k for k, _ in _rows(store)][0] == 11.0


def test_a_refused_write_writes_no_window_and_a_reset_empties_the_tracker(
    tmp_path: Path,
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/c.db")
    assert save_state(store, "q", "cam", _state(5), None, 1.0, ())
    assert reset_trackers(store, "q", "cam") == 1
    assert _rows(store) == []
    # the owner's next write was read at version 1: refused, nothing written
    assert not save_state(store, "q", "cam", _state(6), 1.0, 3.0, _state(5).samples)
    assert _rows(store) == [] and load_state(store, "q", "cam").samples == ()
    states = StoreStates(store)
    assert states.load("q", "cam").samples == ()  # a fresh reader takes the empty tracker up
    states.save("q", "cam", _state(2))
    assert len(_rows(store)) == 2


def test_windows_of_an_older_rule_version_are_not_taken_up_and_never_come_back(
    tmp_path: Path,
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/d.db")
    assert save_state(store, "q", "cam", _state(5, start=100.0), None, 1.0, ())
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE answerer_state SET state = '{\"v\": 1}'"))
    state, version, saved = load_saved(store, "q", "cam")
    assert state.samples == () and version == 1.0 and saved is None
    assert save_state(store, "q", "cam", _state(2), version, 2.0, saved)
    assert [k for k, _ in _rows(store)] == [0.0, 1.0]


def test_migration_0011_moves_json_trackers_into_rows_and_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/e.db")
    upgrade(engine, "0010_sealed_hook_urls")
    samples = [[float(k), 0.1 * k, -1.0, 0.05, k % 2] for k in range(4)]
    with engine.begin() as conn:
        ins = ("INSERT INTO answerer_state (query_id, camera_id, state, last_window_end, "
               "updated_at) VALUES (:q, 'cam', :s, 3.0, 7.0)")
        conn.execute(sa.text(ins), [
            {"q": "q", "s": json.dumps({"v": 2, "samples": samples, "labels": []})},
            {"q": "old", "s": '{"v": 1, "samples": [[1.0, 0.2]]}'}])
    upgrade(engine)
    store = Store(engine)
    assert [list(s) for s in load_state(store, "q", "cam").samples] == samples
    assert load_state(store, "old", "cam").samples == ()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                AnswererSampleRow.metadata)
    assert [d for d in diff if "answerer_samples" in repr(d)] == []
    cfg = alembic_config()
    with engine.begin() as conn:  # the downgrade folds them back
        cfg.attributes.update(connection=conn)
        command.downgrade(cfg, "0010_sealed_hook_urls")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT query_id, state FROM answerer_state"))
        folded = {q: s for q, s in rows}
    assert '"samples": [[0.0, 0.0, -1.0, 0.05, 0]' in folded["q"]

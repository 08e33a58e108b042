"""The ``clip`` answerer's saved trackers: how workers write them, how the API shows and
resets them.

Tables (``answerer_state`` from migration ``0003_answer_feedback``, ``answerer_samples``
from ``0011_answerer_samples``):

* ``answerer_state``: one row per (query, camera): the tracker's rule version, the end
  of its newest window, and ``updated_at``, the version a writer must have read
  (:func:`save_state` writes only over the version it read, so a reset or another
  worker's takeover is never overwritten);
* ``answerer_samples``: one row per judged window of that tracker (window end, score,
  support, unit, verdict). A worker writes what changed since its last write — usually
  one new window, sometimes a few relabelled ones or one that left the horizon — not the
  whole tracker: 900 windows of history cost one row per window, not 50 KB of JSON.

A reset empties a (question, camera)'s tracker and bumps its version; the worker that
owns the camera finds its next write refused and takes the empty tracker up, so the
camera learns its levels afresh (after it was moved or re-aimed). Corrections stay.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from connectors.store.models import Base
from connectors.store.repository import Store
from pipeline.answerers.tracker_state import STATE_VERSION, BaselineState, Sample


class AnswererStateRow(Base):
    __tablename__ = "answerer_state"

    query_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"v": rule version}
    last_window_end: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class AnswererSampleRow(Base):
    __tablename__ = "answerer_samples"

    query_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_end: Mapped[float] = mapped_column(Float, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    support: Mapped[float] = mapped_column(Float)
    unit: Mapped[float] = mapped_column(Float)
    verdict: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class SavedTracker:
    camera: str
    state: BaselineState
    updated_at: float
    current: bool = True  # saved by this rule version (else its windows were not taken up)


def load_saved(store: Store, query_id: str, camera: str
               ) -> tuple[BaselineState, float | None, tuple[Sample, ...] | None]:
    """The saved state, its version, and the samples the store holds for it (``()`` when
    there is no row; None when rows of an older rule version are there: not taken up,
    replaced by the next write)."""
    trackers = saved_trackers(store, query_id, camera)
    if not trackers:
        return BaselineState(), None, ()
    saved = trackers[0]
    return saved.state, saved.updated_at, saved.state.samples if saved.current else None


def save_state(store: Store, query_id: str, camera: str, state: BaselineState,
               expected: float | None = None, now: float | None = None,
               saved: Sequence[Sample] | None = None) -> bool:
    """Write ``state`` unless the saved row changed since version ``expected`` (a reset,
    or another worker took the camera over): False then, and nothing is written.
    ``saved``: the samples the store holds for it (what this writer last wrote or read;
    only the difference is written), None: unknown (every sample is written afresh)."""
    table, rows = AnswererStateRow.__table__, AnswererSampleRow.__table__
    last = state.samples[-1][0] if state.samples else 0.0
    head = {"query_id": query_id, "camera_id": camera, "state": {"v": STATE_VERSION},
            "last_window_end": last, "updated_at": time.time() if now is None else now}
    stmt = store._insert(table).values(**head)  # type: ignore[arg-type]
    stmt = stmt.on_conflict_do_update(
        index_elements=["query_id", "camera_id"],
        set_={k: stmt.excluded[k] for k in ("state", "last_window_end", "updated_at")},
        where=table.c.updated_at == expected,  # type: ignore[attr-defined]
    ).returning(table.c.updated_at)  # type: ignore[attr-defined]
    mine = (rows.c.query_id == query_id) & (rows.c.camera_id == camera)  # type: ignore[attr-defined]
    gone, changed = _difference(saved, state.samples)

    def work(conn: Any) -> bool:
        if conn.execute(stmt).first() is None:  # refused (rowcount is no witness: psycopg
            return False  # reports -1 for an INSERT … ON CONFLICT)
        if saved is None:
            conn.execute(delete(rows).where(mine))
        elif gone:
            conn.execute(delete(rows).where(mine, rows.c.window_end.in_(gone)))  # type: ignore[attr-defined]
        if changed:
            conn.execute(delete(rows).where(mine, rows.c.window_end.in_([s[0] for s in changed])))  # type: ignore[attr-defined]
            conn.execute(rows.insert(), [_row(query_id, camera, s) for s in changed])
        return True

    return bool(store._write(work))


def _difference(saved: Sequence[Sample] | None, samples: Sequence[Sample]
                ) -> tuple[list[float], list[Sample]]:
    """(window ends to delete, samples to write) to turn ``saved`` into ``samples``."""
    if saved is None:
        return [], list(samples)
    old = {s[0]: s for s in saved}
    new = {s[0]: s for s in samples}
    return ([k for k in old if k not in new],
            [s for k, s in new.items() if old.get(k) != s])


def _row(query_id: str, camera: str, s: Sample) -> dict[str, Any]:
    return {"query_id": query_id, "camera_id": camera, "window_end": s[0], "score": s[1],
            "support": s[2], "unit": s[3], "verdict": s[4]}


def saved_trackers(store: Store, query_id: str, camera: str | None = None
                   ) -> list[SavedTracker]:
    """The saved trackers of a question (one camera's, when given), by camera."""
    t, r = AnswererStateRow, AnswererSampleRow
    heads = select(t.camera_id, t.state, t.updated_at).where(t.query_id == query_id)
    samples = select(r.camera_id, r.window_end, r.score, r.support, r.unit, r.verdict).where(
        r.query_id == query_id)
    if camera is not None:
        heads, samples = heads.where(t.camera_id == camera), samples.where(r.camera_id == camera)
    found = store._read(heads.order_by(t.camera_id))
    by_camera: dict[str, list[list[Any]]] = {}
    for cam, *sample in store._read(samples.order_by(r.camera_id, r.window_end)) if found else ():
        by_camera.setdefault(cam, []).append(sample)
    return [SavedTracker(cam, BaselineState.from_json({**(head or {}),
                                                       "samples": by_camera.get(cam, [])}),
                         at, (head or {}).get("v") == STATE_VERSION)
            for cam, head, at in found]


def reset_trackers(store: Store, query_id: str, camera: str | None = None) -> int:
    """Empty the saved trackers of a question (one camera's, when given); how many."""
    t, r = AnswererStateRow.__table__, AnswererSampleRow.__table__
    heads = update(t).where(t.c.query_id == query_id)  # type: ignore[attr-defined]
    samples = delete(r).where(r.c.query_id == query_id)  # type: ignore[attr-defined]
    if camera is not None:
        heads = heads.where(t.c.camera_id == camera)  # type: ignore[attr-defined]
        samples = samples.where(r.c.camera_id == camera)  # type: ignore[attr-defined]
    heads = heads.values(state={"v": STATE_VERSION}, last_window_end=0.0, updated_at=time.time())

    def work(conn: Any) -> int:
        conn.execute(samples)
        return int(conn.execute(heads).rowcount)

    return int(store._write(work))


"""The ``clip`` answerer's saved trackers as the API shows and resets them.

A reset empties a (question, camera)'s tracker and bumps its version; the worker that
owns the camera finds its next write refused (:func:`connectors.store.feedback.save_state`
writes only over the version it read) and takes the empty tracker up, so the camera
learns its levels afresh (after it was moved or re-aimed). Corrections stay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select, update

from connectors.store.feedback import AnswererStateRow
from connectors.store.repository import Store
from pipeline.answerers.baseline import BaselineState


@dataclass(frozen=True)
class SavedTracker:
    camera: str
    state: BaselineState
    updated_at: float


def saved_trackers(store: Store, query_id: str, camera: str | None = None
                   ) -> list[SavedTracker]:
    """The saved trackers of a question (one camera's, when given), by camera."""
    t = AnswererStateRow
    stmt = select(t.camera_id, t.state, t.updated_at).where(t.query_id == query_id)
    if camera is not None:
        stmt = stmt.where(t.camera_id == camera)
    rows = store._read(stmt.order_by(t.camera_id))
    return [SavedTracker(c, BaselineState.from_json(s), u) for c, s, u in rows]


def reset_trackers(store: Store, query_id: str, camera: str | None = None) -> int:
    """Empty the saved trackers of a question (one camera's, when given); how many."""
    t = AnswererStateRow.__table__
    stmt = update(t).where(t.c.query_id == query_id)
    if camera is not None:
        stmt = stmt.where(t.c.camera_id == camera)
    empty = BaselineState().to_json()
    stmt = stmt.values(state=empty, last_window_end=0.0, updated_at=time.time())
    result = store._write(lambda conn: conn.execute(stmt))
    return int(result.rowcount)

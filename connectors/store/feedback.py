"""User feedback on answers and the ``clip`` answerer's saved baselines.

Tables (migration ``0003_answer_feedback``):

* ``answer_feedback``: one verdict per answer (the latest wins), with the answer's
  query, camera, window end and score copied in so a correction outlives the answer;
* the adaptive baseline's saved trackers (:mod:`connectors.store.tracker_states`: per
  (query, camera), a version row and one row per judged window).

:class:`StoreStates` is the store-backed :class:`~pipeline.answerers.baseline.StateProvider`
a worker hands its answerers: states are cached in memory and written through on
every window (only what changed since the last write), so a worker that takes a camera
over (after a restart, a rebalance or ``kill -9``) loads exactly what its predecessor had
saved (and a cached state unused for ``stale_s`` is read again: the camera may have been
away); corrections are re-read from ``answer_feedback`` at most every ``refresh_s``
seconds, so a ✗ clicked in the dashboard reaches the worker that owns the camera.

The store is where baselines *survive*, not what answering waits on: while it cannot
be reached (PostgreSQL restarting), a worker answers from its cached state (an empty
one for a camera it never read) and cached corrections, keeps the states it could
not write, and writes the latest of each once the store answers again (tried at most
every ``refresh_s``). Losing the store never costs a window its answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

from sqlalchemy import Boolean, Float, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from connectors.store.models import ROW_ID, AnswerRow, Base
from connectors.store.repository import Store
from connectors.store.tracker_states import load_saved, save_state
from pipeline.answerers.corrections import Label
from pipeline.answerers.tracker_state import FEEDBACK_KEEP, BaselineState, Sample
from pipeline.errors import ConfigError, StoreError

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (query id, camera id)


class AnswerFeedbackRow(Base):
    __tablename__ = "answer_feedback"
    __table_args__ = (
        UniqueConstraint("answer_id", name="uq_answer_feedback_answer"),
        Index("ix_answer_feedback_query_camera", "query_id", "camera_id"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    answer_id: Mapped[int] = mapped_column(ROW_ID)
    query_id: Mapped[str] = mapped_column(String(200))
    camera_id: Mapped[str] = mapped_column(String(200))
    window_end: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    matched: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    correct: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Feedback:
    """A stored verdict on one answer."""

    answer_id: int
    query_id: str
    camera: str
    window_end: float
    score: float | None
    matched: bool | None
    correct: bool
    created_at: float

    def label(self) -> Label | None:
        """The labelled score this verdict teaches (None when the answer had no score)."""
        if self.score is None or self.matched is None:
            return None
        return Label(self.window_end, self.score, self.matched == self.correct)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer_id": self.answer_id, "query_id": self.query_id, "camera": self.camera,
            "window_end": self.window_end, "score": self.score, "matched": self.matched,
            "correct": self.correct, "created_at": self.created_at,
        }


def _feedback(row: AnswerFeedbackRow) -> Feedback:
    return Feedback(row.answer_id, row.query_id, row.camera_id, row.window_end, row.score,
                    row.matched, row.correct, row.created_at)


def add_feedback(store: Store, answer_id: int, correct: bool) -> Feedback:
    """Record that answer ``answer_id`` was right or wrong; ConfigError for an unknown id."""
    rows = store._read(select(AnswerRow).where(AnswerRow.id == answer_id))
    if not rows:
        raise ConfigError("answer id", answer_id, "the id of a stored answer")
    a = rows[0]
    fb = Feedback(answer_id, a.query_id, a.camera_id, a.window_end, a.score, a.matched,
                  bool(correct), time.time())
    row = {**fb.to_dict(), "camera_id": fb.camera}
    del row["camera"]
    # a new verdict is the newest: its time too (the tracker reads the newest FEEDBACK_KEEP)
    store._upsert(AnswerFeedbackRow.__table__, row, ("answer_id",), keep=())  # type: ignore[arg-type]
    return fb


def feedback_for(
    store: Store, query_id: str | None = None, camera: str | None = None, limit: int = 100
) -> list[Feedback]:
    """Newest verdicts first, optionally for one query and camera."""
    stmt = select(AnswerFeedbackRow).order_by(AnswerFeedbackRow.created_at.desc()).limit(limit)
    if query_id is not None:
        stmt = stmt.where(AnswerFeedbackRow.query_id == query_id)
    if camera is not None:
        stmt = stmt.where(AnswerFeedbackRow.camera_id == camera)
    return [_feedback(r) for r in store._read(stmt)]


def feedback_on(store: Store, answer_id: int) -> Feedback | None:
    """The verdict given on one answer, if any."""
    rows = store._read(select(AnswerFeedbackRow).where(AnswerFeedbackRow.answer_id == answer_id))
    return _feedback(rows[0]) if rows else None


def load_state(store: Store, query_id: str, camera: str) -> BaselineState:
    return load_saved(store, query_id, camera)[0]


@dataclass(eq=False)
class StoreStates:
    """The store-backed state provider (write-through cache, periodic feedback refresh;
    answers from the cache while the store is unreachable, see the module doc)."""

    store: Store
    _: KW_ONLY
    refresh_s: float = 5.0
    stale_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _states: dict[Key, BaselineState] = field(default_factory=dict, init=False, repr=False)
    _touched: dict[Key, float] = field(default_factory=dict, init=False, repr=False)
    _labels: dict[Key, tuple[float, tuple[Label, ...]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _unsaved: set[Key] = field(default_factory=set, init=False, repr=False)
    _versions: dict[Key, float | None] = field(default_factory=dict, init=False, repr=False)
    _saved: dict[Key, tuple[Sample, ...] | None] = field(default_factory=dict, init=False,
                                                          repr=False)  # as the store has them
    _retry_at: float | None = field(default=None, init=False, repr=False)  # store unreachable

    def load(self, query_id: str, camera: str) -> BaselineState:
        """The cached state; read again from the store when this worker has not used it
        for ``stale_s`` (the camera may have been answered by another worker meanwhile)."""
        key, now = (query_id, camera), self.clock()
        stale = key not in self._states or now - self._touched.get(key, now) > self.stale_s
        if stale and key not in self._unsaved and self._store_up(now):
            try:
                self._states[key], self._versions[key], self._saved[key] = load_saved(
                    self.store, query_id, camera)
            except StoreError as exc:
                self._store_down(now, exc)
            else:
                self._store_back()
        self._states.setdefault(key, BaselineState())
        self._touched[key] = now
        return replace(self._states[key], labels=self._labels_of(key))

    def save(self, query_id: str, camera: str, state: BaselineState) -> None:
        key, now = (query_id, camera), self.clock()
        self._states[key] = state
        self._touched[key] = now
        self._unsaved.add(key)
        if not self._store_up(now):
            return
        for k in sorted(self._unsaved):  # this one and any kept while the store was away
            try:
                self._write(k)
            except StoreError as exc:
                self._store_down(now, exc)
                return
            self._unsaved.discard(k)
        self._store_back()

    def _write(self, key: Key) -> None:
        """Save one state; when the row changed under it (an operator's reset, another
        worker's takeover) the saved row wins and is taken up instead."""
        stamp = time.time()
        state = self._states[key]
        if save_state(self.store, key[0], key[1], state, self._versions.get(key), stamp,
                      self._saved.get(key)):
            self._versions[key], self._saved[key] = stamp, state.samples
            return
        log.info("answerer state of %s on %s changed in the store (reset or takeover): "
                 "taken up", *key)
        self._states[key], self._versions[key], self._saved[key] = load_saved(self.store, *key)

    def _labels_of(self, key: Key) -> tuple[Label, ...]:
        now = self.clock()
        cached = self._labels.get(key)
        if (cached is None or now - cached[0] >= self.refresh_s) and self._store_up(now):
            try:
                verdicts = feedback_for(self.store, key[0], key[1], limit=FEEDBACK_KEEP)
            except StoreError as exc:
                self._store_down(now, exc)
            else:
                labels = tuple(lb for lb in (v.label() for v in reversed(verdicts)) if lb)
                cached = (now, labels)
                self._labels[key] = cached
                self._store_back()
        return cached[1] if cached is not None else ()

    def _store_up(self, now: float) -> bool:
        return self._retry_at is None or now >= self._retry_at

    def _store_back(self) -> None:
        if self._retry_at is not None:
            log.info("answerer states: the store answers again")
            self._retry_at = None

    def _store_down(self, now: float, exc: StoreError) -> None:
        if self._retry_at is None:
            log.warning(
                "answerer states: store unreachable (%s); answering from the cache, "
                "states kept until it answers",
                str(exc).splitlines()[0],
            )
        self._retry_at = now + self.refresh_s

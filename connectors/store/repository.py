"""The repository API over the store: cameras, standing queries, answers, evidence.

Build it with :meth:`Store.from_url` (opens the engine and migrates to head) or hand
an engine to ``Store(engine)`` in tests. Writes of answers are idempotent on
``(query_id, camera_id, window_end)`` using the dialect's
``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, Select, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.retry import RetryPolicy
from connectors.store import db
from connectors.store.db import store_errors
from connectors.store.models import (
    AnswerRow,
    CameraRow,
    EvidenceRow,
    QueryFailureRow,
    QueryRow,
)
from connectors.store.rollups.maintain import keep_rollups, lock_series
from pipeline.errors import StoreError, StoreUnreachable
from pipeline.types import Answer, Evidence, StandingQuery

ANSWER_KEY = ("query_id", "camera_id", "window_end")
WAIT_FOR_STORE = RetryPolicy(initial=1.0, maximum=30.0, attempts=0)
"""How a long-running role waits for a store it cannot reach at start: until it can."""


class Store:
    """Reads and writes the SQL store; every method is one short transaction."""

    def __init__(self, engine: Engine, *, rollups: bool = True) -> None:
        self.engine = engine
        self.rollups = rollups  # keep runs and minute rollups as answers are inserted

    @classmethod
    def from_url(cls, url: str, *, upgrade: bool = True) -> Store:
        store = cls(db.make_engine(url))
        if upgrade:
            store.upgrade()
        return store

    def upgrade(self) -> str | None:
        return db.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- dialect-aware insert ---------------------------------------------------
    def _insert(self, table: Any) -> Any:
        name = self.engine.dialect.name
        if name == "postgresql":
            return postgresql.insert(table)
        if name == "sqlite":
            return sqlite.insert(table)
        raise StoreError(f"unsupported database dialect {name!r}")

    def _upsert(self, table: Table, row: dict[str, Any], key: Sequence[str],
                keep: Sequence[str] = ("created_at",)) -> None:
        """Insert ``row`` or update the one with its ``key``, leaving ``keep`` as stored."""
        stmt = self._insert(table).values(**row)
        changes = {k: stmt.excluded[k] for k in row if k not in key and k not in keep}
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=changes)
        self._write(lambda conn: conn.execute(stmt))

    def _write(self, work: Any) -> Any:
        with store_errors("store write failed"), self.engine.begin() as conn:
            return work(conn)

    def _read(self, stmt: Any) -> list[Any]:
        with store_errors("store read failed"), self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def _objects(self, stmt: Select[Any]) -> list[Any]:
        with store_errors("store read failed"), Session(self.engine) as session:
            return list(session.scalars(stmt))

    # -- cameras and queries ---------------------------------------------------
    def upsert_camera(self, camera_id: str, uri: str = "") -> None:
        row = {"id": camera_id, "uri": uri, "created_at": time.time()}
        self._upsert(CameraRow.__table__, row, ["id"])  # type: ignore[arg-type]

    def cameras(self) -> list[tuple[str, str]]:
        return [
            (r.id, r.uri)
            for r in self._read(select(CameraRow.id, CameraRow.uri).order_by(CameraRow.id))
        ]

    def upsert_query(self, query: StandingQuery) -> None:
        row = {
            "id": query.id,
            "question": query.question,
            "cameras": list(query.cameras),
            "every": query.every,
            "window": query.window,
            "answerer": query.answerer,
            "settings": dict(query.settings),
            "version": query.version,
            "created_at": time.time(),
            "deleted": False,
        }
        self._upsert(QueryRow.__table__, row, ["id"])  # type: ignore[arg-type]

    def replace_query(self, query: StandingQuery, expected_version: int) -> bool:
        """Write ``query`` over the stored, not deleted row of its id only while that row
        still has ``expected_version`` (compare-and-set): False when it was deleted or
        changed meanwhile, so a concurrent DELETE or PATCH is never undone."""
        stmt = (
            update(QueryRow)
            .where(QueryRow.id == query.id, QueryRow.version == expected_version,
                   QueryRow.deleted.is_(False))
            .values(question=query.question, cameras=list(query.cameras), every=query.every,
                    window=query.window, answerer=query.answerer,
                    settings=dict(query.settings), version=query.version)
        )
        return bool(self._write(lambda conn: conn.execute(stmt).rowcount))

    def delete_query(self, query_id: str) -> None:
        """Mark it deleted and forget why it failed (an id used again starts clean)."""
        stmt = update(QueryRow).where(QueryRow.id == query_id).values(deleted=True)
        forget = delete(QueryFailureRow).where(QueryFailureRow.query_id == query_id)
        self._write(lambda conn: (conn.execute(stmt), conn.execute(forget)))

    def queries(self, include_deleted: bool = False) -> list[StandingQuery]:
        stmt = select(QueryRow).order_by(QueryRow.created_at, QueryRow.id)
        if not include_deleted:
            stmt = stmt.where(QueryRow.deleted.is_(False))
        return [query_from_row(r) for r in self._objects(stmt)]

    # -- answers -----------------------------------------------------------------
    def insert_answers(self, answers: Iterable[Answer]) -> int:
        """Insert answers and their evidence, skipping ones already stored; returns new rows.

        The answers really inserted update the runs and minute rollups in the same
        transaction (:mod:`connectors.store.rollups`), so a redelivered answer counts once.
        """
        batch = list(answers)
        if not batch:
            return 0
        by_key = {(a.query_id, a.camera, a.window_end): a for a in reversed(batch)}
        evidence = [e for a in batch for e in _evidence_rows(a)]
        table = AnswerRow.__table__
        answers_stmt = (
            self._insert(table)
            .on_conflict_do_nothing(index_elements=list(ANSWER_KEY))
            .returning(table.c.id, *(table.c[k] for k in ANSWER_KEY))
        )
        ev_key = [*ANSWER_KEY, "idx"]
        ev_stmt = self._insert(EvidenceRow.__table__).on_conflict_do_nothing(index_elements=ev_key)

        def work(conn: Any) -> int:
            if self.rollups:
                lock_series(conn, {(a.query_id, a.camera) for a in batch})
            # RETURNING yields a row only for an answer that was really inserted
            new = conn.execute(answers_stmt, [_answer_row(a) for a in batch]).all()
            if evidence:
                conn.execute(ev_stmt, evidence)
            if self.rollups and new:
                first_id = min(r[0] for r in new)
                keep_rollups(conn, [by_key[(r[1], r[2], r[3])] for r in new], first_id)
            return len(new)

        return int(self._write(work))

    def answers(
        self,
        *,
        query_id: str | None = None,
        question: str | None = None,
        camera: str | None = None,
        since: float | None = None,
        matched: bool | None = None,
        limit: int | None = None,
    ) -> list[Answer]:
        """Stored answers (without evidence images), oldest window first."""
        stmt = select(AnswerRow).order_by(
            AnswerRow.window_end, AnswerRow.query_id, AnswerRow.camera_id
        )
        if query_id is not None:
            stmt = stmt.where(AnswerRow.query_id == query_id)
        if question:
            stmt = stmt.where(AnswerRow.question.ilike(f"%{question}%"))
        if camera is not None:
            stmt = stmt.where(AnswerRow.camera_id == camera)
        if since is not None:
            stmt = stmt.where(AnswerRow.window_end >= since)
        if matched is not None:
            stmt = stmt.where(AnswerRow.matched.is_(matched))
        if limit is not None:
            stmt = stmt.limit(limit)
        return [answer_from_row(r) for r in self._objects(stmt)]

    def count_answers(self) -> int:
        rows = self._read(select(func.count()).select_from(AnswerRow))
        return int(rows[0][0])

    def evidence(self, query_id: str, camera: str, window_end: float) -> list[Evidence]:
        """The evidence JPEGs of one answer, in selection order."""
        stmt = (
            select(EvidenceRow)
            .where(EvidenceRow.query_id == query_id, EvidenceRow.camera_id == camera)
            .where(EvidenceRow.window_end == window_end)
            .order_by(EvidenceRow.idx)
        )
        return [Evidence(t=r.t, jpeg=r.jpeg, box=box_of(r.box)) for r in self._objects(stmt)]

    def delete_answers(self, query_id: str) -> int:
        """Drop a query's answers (and, by cascade, their evidence)."""

        def work(conn: Any) -> int:
            conn.execute(delete(EvidenceRow).where(EvidenceRow.query_id == query_id))
            return int(
                conn.execute(delete(AnswerRow).where(AnswerRow.query_id == query_id)).rowcount
            )

        return int(self._write(work))


# -- row <-> value object --------------------------------------------------------


def box_of(raw: Sequence[float]) -> tuple[float, float, float, float]:
    """A stored (JSON) box as the domain's tuple of four floats."""
    return (float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3]))


ANSWER_COLUMNS = (
    "query_id", "question", "window_start", "window_end", "evaluated_at", "answerer", "text",
    "matched", "score", "visual_tokens", "latency_ms", "every", "query_version",
)
"""The Answer fields stored as they are, in ``answers`` columns of the same name."""


def _answer_row(a: Answer) -> dict[str, Any]:
    return {
        **{name: getattr(a, name) for name in ANSWER_COLUMNS},
        "camera_id": a.camera,
        "frames": list(a.frames),
        "rois": [list(r) for r in a.rois],
        "model_ids": dict(a.model_ids),
        "backfilled": a.backfilled,
        "stages": dict(a.stages) or None,
    }


def _evidence_rows(a: Answer) -> list[dict[str, Any]]:
    key = {"query_id": a.query_id, "camera_id": a.camera, "window_end": a.window_end}
    return [
        {**key, "idx": i, "t": e.t, "jpeg": e.jpeg, "box": list(e.box)}
        for i, e in enumerate(a.evidence)
    ]


def answer_from_row(r: AnswerRow) -> Answer:
    """The stored row as the domain's Answer (evidence is fetched separately)."""
    return Answer(
        **{name: getattr(r, name) for name in ANSWER_COLUMNS},
        camera=r.camera_id,
        frames=tuple(float(t) for t in r.frames),
        rois=tuple(box_of(b) for b in r.rois),
        model_ids=dict(r.model_ids),
        backfilled=bool(r.backfilled),
        stages=dict(r.stages or {}),
    )


def query_from_row(q: QueryRow) -> StandingQuery:
    """The stored row as the domain's StandingQuery."""
    return StandingQuery(
        id=q.id,
        question=q.question,
        cameras=tuple(q.cameras),
        every=q.every,
        window=q.window,
        answerer=q.answerer,
        settings=dict(q.settings or {}),
        version=q.version,
    )


def open_store(url: str, *, wait: bool = False, retry: RetryPolicy = WAIT_FOR_STORE) -> Store:
    """The store, migrated to head. A store that cannot be reached is, with ``wait`` (the
    long-running roles: api, worker, alerts, clips, a run on cameras), waited for under
    ``retry``, each try logged with the URL without its password; without it (one-shot
    commands) the first :class:`~pipeline.errors.StoreUnreachable` is raised. Other
    errors (a refused login, a store a newer feedwatch migrated) are raised at once."""
    if not wait:
        return Store.from_url(url, upgrade=True)
    return retry.call(lambda: Store.from_url(url, upgrade=True), "opening the store",
                      on=StoreUnreachable)

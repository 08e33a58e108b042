"""Reads the API needs beyond the repository: row ids, keyset pages, evidence by index,
answers after an id (the live stream), as short transactions.

Writes go through :class:`connectors.store.Store`. A page position is a cursor
``WINDOW_END~ID`` (:data:`CURSOR_PATTERN`): any text of that form is a position, so a
client-built one is as good as one the API issued.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text
from sqlalchemy.orm import Session

from connectors.bus.failure_messages import QueryError
from connectors.store.db import store_errors
from connectors.store.models import AnswerRow, EvidenceRow, QueryRow
from connectors.store.query_failures import QueryFailures
from connectors.store.repository import Store, answer_from_row, box_of, query_from_row
from connectors.store.skip_scan import newest_per_key
from pipeline.errors import StoreError
from pipeline.types import Answer, StandingQuery

MAX_ID = 2**63 - 1
"""The largest answer id: ``answers.id`` is a 64-bit integer (``bigint`` on PostgreSQL
since migration 0014; a larger id in a path or cursor is the client's 422 naming it,
not the store's refusal)."""
CURSOR_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?~[0-9]{1,30}$"
LAST_ANSWERS_TTL_S = 2.0


@dataclass(frozen=True)
class AnswerFilter:
    """Which answers a list or stream shows (``until < since`` selects none)."""

    query_id: str | None = None
    camera: str | None = None
    since: float | None = None
    until: float | None = None
    matched: bool | None = None

    def where(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` (over ``answers``) narrowed to the answers this filter shows."""
        conditions: list[ColumnElement[bool]] = []
        if self.query_id is not None:
            conditions.append(AnswerRow.query_id == self.query_id)
        if self.camera is not None:
            conditions.append(AnswerRow.camera_id == self.camera)
        if self.since is not None:
            conditions.append(AnswerRow.window_end >= self.since)
        if self.until is not None:
            conditions.append(AnswerRow.window_end <= self.until)
        if self.matched is not None:
            conditions.append(AnswerRow.matched.is_(self.matched))
        return stmt.where(*conditions)


@dataclass(frozen=True)
class EvidenceMeta:
    idx: int
    t: float
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class StoredAnswer:
    """An answer with its row id and the index of its evidence images."""

    id: int
    answer: Answer
    evidence: tuple[EvidenceMeta, ...]


@dataclass(frozen=True)
class StoredQuery:
    query: StandingQuery
    created_at: float
    failure: QueryError | None = None  # set aside in its current version: why

    @property
    def status(self) -> str:
        return "active" if self.failure is None else "failed"


def encode_cursor(window_end: float, answer_id: int) -> str:
    return f"{window_end!r}~{answer_id}"


def decode_cursor(cursor: str) -> tuple[float, int]:
    """The position a cursor names; ``ValueError`` unless it matches the pattern."""
    if not re.match(CURSOR_PATTERN, cursor):
        raise ValueError(f"not a cursor: {cursor!r}")
    end, answer_id = cursor.split("~")
    return float(end), min(int(answer_id), MAX_ID)


def after_cursor(end: float, last_id: int) -> ColumnElement[bool]:
    """Rows after (window_end, id) = (end, last_id) in newest-first order. The leading
    ``window_end <= end`` is what bounds an index range: with the OR alone a deep page
    walked every newer row before its own."""
    return and_(
        AnswerRow.window_end <= end,
        or_(AnswerRow.window_end < end, AnswerRow.id < last_id),
    )


class Reads:
    """The API's reads (and its few writes, through the repository) over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._last_answers: tuple[float, dict[str, float]] = (-LAST_ANSWERS_TTL_S, {})

    def _scalars(self, stmt: Select[Any]) -> list[Any]:
        engine = self.store.engine
        with _read_errors(), Session(engine, expire_on_commit=False) as session:
            return list(session.scalars(stmt))

    def _rows(self, stmt: Any) -> list[Any]:
        with _read_errors(), self.store.engine.connect() as conn:
            return list(conn.execute(stmt))

    def ping(self) -> str:
        """Raise unless the database answers a trivial query."""
        with store_errors("database unreachable", detail=False), self.store.engine.connect() as c:
            c.execute(text("SELECT 1"))
        return f"{self.store.engine.dialect.name} answers"

    # -- cameras -------------------------------------------------------------
    def cameras(self) -> dict[str, str]:
        return dict(self.store.cameras())

    def last_answer_times(self) -> dict[str, float]:
        """Newest window end per camera (two index seeks per camera); cached briefly."""
        cached_at, value = self._last_answers
        if time.monotonic() - cached_at < LAST_ANSWERS_TTL_S:
            return value
        a = AnswerRow.__table__.c
        with _read_errors(), self.store.engine.connect() as conn:
            value = newest_per_key(conn, a.camera_id, a.window_end)
        self._last_answers = (time.monotonic(), value)
        return value

    # -- queries -------------------------------------------------------------
    def queries(self) -> list[StoredQuery]:
        stmt = (
            select(QueryRow)
            .where(QueryRow.deleted.is_(False))
            .order_by(QueryRow.created_at, QueryRow.id)
        )
        return self._with_failures([_stored_query(r) for r in self._scalars(stmt)])

    def query(self, query_id: str) -> StoredQuery | None:
        stmt = select(QueryRow).where(QueryRow.id == query_id, QueryRow.deleted.is_(False))
        found = self._with_failures([_stored_query(r) for r in self._scalars(stmt)])
        return found[0] if found else None

    def _with_failures(self, stored: list[StoredQuery]) -> list[StoredQuery]:
        failed = QueryFailures(self.store.engine).current([s.query for s in stored])
        return [replace(s, failure=failed.get(s.query.id)) for s in stored]

    def save_query(self, query: StandingQuery) -> StoredQuery:
        self.store.upsert_query(query)
        saved = self.query(query.id)
        if saved is None:
            raise StoreError(f"query {query.id!r} vanished right after it was written")
        return saved

    def replace_query(self, query: StandingQuery, expected_version: int) -> StoredQuery | None:
        """``query`` written over version ``expected_version``; None when that version is
        no longer the stored one (deleted or changed meanwhile)."""
        if not self.store.replace_query(query, expected_version):
            return None
        return self.query(query.id)

    def delete_query(self, query_id: str) -> None:
        self.store.delete_query(query_id)

    # -- answers -------------------------------------------------------------
    def answers_page(
        self, f: AnswerFilter, limit: int, cursor: str | None
    ) -> tuple[list[StoredAnswer], str | None]:
        """Newest window first, keyset-paginated on (window_end, id): stable under inserts."""
        stmt = f.where(select(AnswerRow))
        if cursor:
            end, last_id = decode_cursor(cursor)
            stmt = stmt.where(after_cursor(end, last_id))
        stmt = stmt.order_by(AnswerRow.window_end.desc(), AnswerRow.id.desc()).limit(limit + 1)
        rows = self._scalars(stmt)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].window_end, rows[-1].id) if more and rows else None
        return self._with_evidence(rows), next_cursor

    def answers_per_camera(
        self, query_id: str, cameras: Sequence[str], per_camera: int
    ) -> dict[str, list[StoredAnswer]]:
        """A question's newest ``per_camera`` answers on each of ``cameras`` (newest
        first): one index range per camera, so a camera answering often never crowds
        another out of the page."""
        rows: list[AnswerRow] = []
        for camera in cameras:
            stmt = AnswerFilter(query_id=query_id, camera=camera).where(select(AnswerRow))
            stmt = stmt.order_by(AnswerRow.window_end.desc(), AnswerRow.id.desc())
            rows += self._scalars(stmt.limit(per_camera))
        out: dict[str, list[StoredAnswer]] = {c: [] for c in cameras}
        for stored in self._with_evidence(rows):
            out[stored.answer.camera].append(stored)
        return out

    def answer_ids_after(self, f: AnswerFilter, after_id: int, limit: int = 5000) -> list[int]:
        """Ids above ``after_id`` that pass the filter, ascending (the live stream's poll)."""
        stmt = f.where(select(AnswerRow.id)).where(AnswerRow.id > after_id)
        return [int(r[0]) for r in self._rows(stmt.order_by(AnswerRow.id).limit(limit))]

    def answers_by_ids(self, ids: Sequence[int]) -> list[StoredAnswer]:
        """The answers with these ids, ascending by id."""
        if not ids:
            return []
        stmt = select(AnswerRow).where(AnswerRow.id.in_(list(ids))).order_by(AnswerRow.id)
        return self._with_evidence(self._scalars(stmt))

    def last_answer_id(self) -> int:
        return int(self._rows(select(func.coalesce(func.max(AnswerRow.id), 0)))[0][0])

    def answer(self, answer_id: int) -> StoredAnswer | None:
        rows = self._scalars(select(AnswerRow).where(AnswerRow.id == answer_id))
        return self._with_evidence(rows)[0] if rows else None

    def evidence_jpeg(self, answer_id: int, index: int) -> bytes | None:
        stmt = (
            select(EvidenceRow.jpeg)
            .join(AnswerRow, _evidence_join())
            .where(AnswerRow.id == answer_id, EvidenceRow.idx == index)
        )
        found = self._rows(stmt)
        return bytes(found[0][0]) if found else None

    def _with_evidence(self, rows: Sequence[AnswerRow]) -> list[StoredAnswer]:
        if not rows:
            return []
        stmt = (
            select(AnswerRow.id, EvidenceRow.idx, EvidenceRow.t, EvidenceRow.box)
            .join(AnswerRow, _evidence_join())
            .where(AnswerRow.id.in_([r.id for r in rows]))
            .order_by(AnswerRow.id, EvidenceRow.idx)
        )
        by_answer: dict[int, list[EvidenceMeta]] = {}
        for answer_id, idx, t, box in self._rows(stmt):
            by_answer.setdefault(answer_id, []).append(EvidenceMeta(idx, float(t), box_of(box)))
        return [
            StoredAnswer(r.id, answer_from_row(r), tuple(by_answer.get(r.id, ()))) for r in rows
        ]


def _evidence_join() -> Any:
    return and_(
        EvidenceRow.query_id == AnswerRow.query_id,
        EvidenceRow.camera_id == AnswerRow.camera_id,
        EvidenceRow.window_end == AnswerRow.window_end,
    )


def _stored_query(r: QueryRow) -> StoredQuery:
    return StoredQuery(query_from_row(r), float(r.created_at or time.time()))


def _read_errors() -> AbstractContextManager[None]:
    """Store errors for API reads: the error class only, no SQL in the message."""
    return store_errors("store read failed", detail=False)

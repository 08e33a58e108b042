"""Stored answers listed a page at a time, for listings that may cover all of history.

``feedwatch answers`` without ``--limit`` on a store with months of answers read every
matching row (and then looked their ids up with one ``IN`` over every window end) before
printing the first: minutes and gigabytes. Here the rows come in pages keyset on
(``window_end``, ``id``), which the ``ix_answers_end_id`` index gives in order, so a
listing of any length holds one page and prints as it reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, or_, select

from connectors.store.models import AnswerRow
from connectors.store.repository import Store, answer_from_row
from pipeline.types import Answer

PAGE = 1000
"""Rows one read fetches."""


@dataclass(frozen=True)
class Listing:
    """Which answers: ``question`` (contained, case-insensitive), ``camera``, windows
    ending at or after ``since``, ``matched`` (None: both), at most ``limit``."""

    question: str | None = None
    camera: str | None = None
    since: float | None = None
    matched: bool | None = None
    limit: int | None = None

    def select(self) -> Select[tuple[AnswerRow]]:
        stmt = select(AnswerRow).order_by(AnswerRow.window_end, AnswerRow.id)
        if self.question:
            stmt = stmt.where(AnswerRow.question.ilike(f"%{self.question}%"))
        if self.camera is not None:
            stmt = stmt.where(AnswerRow.camera_id == self.camera)
        if self.since is not None:
            stmt = stmt.where(AnswerRow.window_end >= self.since)
        if self.matched is not None:
            stmt = stmt.where(AnswerRow.matched.is_(self.matched))
        return stmt


def stored_answers(store: Store, listing: Listing, page: int = PAGE
                   ) -> Iterator[tuple[int, Answer]]:
    """(row id, answer) of every listed answer (evidence images left out), oldest window
    first and by id within one window end, read ``page`` rows at a time."""
    left = listing.limit
    after: tuple[float, int] | None = None
    while left is None or left > 0:
        n = page if left is None else min(page, left)
        stmt = listing.select()
        if after is not None:  # starts with a bound on window_end: an index range
            end, last = after
            stmt = stmt.where(AnswerRow.window_end >= end,
                              or_(AnswerRow.window_end > end, AnswerRow.id > last))
        rows = store._objects(stmt.limit(n))
        for row in rows:
            yield row.id, answer_from_row(row)
        if len(rows) < n:
            return
        after = (rows[-1].window_end, rows[-1].id)
        left = None if left is None else left - len(rows)

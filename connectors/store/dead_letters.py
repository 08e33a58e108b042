"""Dead letters kept in SQL: what was dropped, where it came from, and why.

The sink reads the ``deadletter`` topic (in-process or Kafka) and keeps one row per
dead letter (:class:`~connectors.bus.deadletter_models.DeadLetter`): its stage, the
topic, partition and offset of the failed record, the camera, the error, the failed
record's key and the size of its value (the bytes stay on the topic; a segment can be
megabytes). Rows are unique on the dead letter's own partition and offset, so a
redelivered batch is dropped. Text is cut to its column and NUL removed (PostgreSQL
text holds none), so a hostile record cannot make its own dead letter unstorable.

The table keeps the newest :data:`KEEP` rows; older ones are deleted as new ones come.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from connectors.bus.deadletter_models import DeadLetter
from connectors.store.alerts_rows import insert_for
from connectors.store.db import store_errors
from connectors.store.models import DeadLetterRow

KEEP = 100_000
"""Dead letters the table keeps, newest first."""
LIMIT_MAX = 10_000
"""Dead letters one read returns at most."""


@dataclass(frozen=True)
class Placed:
    """A dead letter and its own place on the ``deadletter`` topic."""

    partition: int
    offset: int
    at: float  # when it was written (the record's timestamp, epoch s)
    letter: DeadLetter


@dataclass(frozen=True)
class DeadLetterEntry:
    """One stored dead letter, as the CLI and the API show it."""

    id: int
    at: float
    stage: str
    topic: str
    partition: int
    offset: int
    camera: str
    error_type: str
    message: str
    key: str
    value_bytes: int | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: str, most: int) -> str:
    return value.replace("\x00", "")[:most]


def _row(p: Placed) -> dict[str, Any]:
    letter = p.letter
    return {
        "dl_partition": p.partition, "dl_offset": p.offset, "at": p.at,
        "stage": _text(letter.stage, 40), "topic": _text(letter.topic, 200),
        "partition": letter.partition, "offset": letter.offset,
        "camera": _text(letter.camera, 200), "error_type": _text(letter.error_type, 100),
        "message": _text(letter.error_message, 1000),
        "key": _text(letter.key.decode("utf-8", "replace"), 200),
        "value_bytes": None if letter.value is None else len(letter.value),
    }


class DeadLetterLog:
    """Records and reads dead letters."""

    def __init__(self, engine: Engine, keep: int = KEEP) -> None:
        self.engine = engine
        self.keep = keep

    def record(self, letters: Iterable[Placed]) -> int:
        """Store each dead letter once (one transaction); returns how many were new.
        Rows beyond the newest ``keep`` are deleted in the same transaction."""
        rows = [_row(p) for p in letters]
        if not rows:
            return 0
        with store_errors("recording dead letters"), Session(self.engine) as s, s.begin():
            stmt = insert_for(s, DeadLetterRow).values(rows).on_conflict_do_nothing(
                index_elements=["dl_partition", "dl_offset"])
            added = int(s.execute(stmt).rowcount or 0)
            newest = s.scalar(select(func.max(DeadLetterRow.id))) or 0
            if newest > self.keep:
                s.execute(delete(DeadLetterRow).where(DeadLetterRow.id <= newest - self.keep))
        return added

    def read(self, *, since: float | None = None, until: float | None = None,
             stage: str | None = None, camera: str | None = None,
             limit: int = 100) -> list[DeadLetterEntry]:
        """The newest ``limit`` dead letters (newest first) written in [since, until)."""
        stmt = select(DeadLetterRow).order_by(DeadLetterRow.id.desc())
        stmt = stmt.limit(max(1, min(limit, LIMIT_MAX)))
        if since is not None:
            stmt = stmt.where(DeadLetterRow.at >= since)
        if until is not None:
            stmt = stmt.where(DeadLetterRow.at < until)
        if stage:
            stmt = stmt.where(DeadLetterRow.stage == stage)
        if camera:
            stmt = stmt.where(DeadLetterRow.camera == camera)
        with store_errors("reading dead letters", detail=False), Session(self.engine) as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def counts(self, since: float | None = None) -> dict[str, int]:
        """Dead letters by stage (written at or after ``since``)."""
        stmt = select(DeadLetterRow.stage, func.count()).group_by(DeadLetterRow.stage)
        if since is not None:
            stmt = stmt.where(DeadLetterRow.at >= since)
        with store_errors("counting dead letters", detail=False), Session(self.engine) as s:
            return {str(stage): int(n) for stage, n in s.execute(stmt).all()}


def _entry(row: DeadLetterRow) -> DeadLetterEntry:
    return DeadLetterEntry(row.id, row.at, row.stage, row.topic, row.partition, row.offset,
                           row.camera, row.error_type, row.message, row.key, row.value_bytes)

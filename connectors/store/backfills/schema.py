"""The ``backfills`` table: one row per backfill job, its state and its progress.

A job answers one query (at the version it ran) over ``seconds`` of stored history on
its cameras. States move ``queued -> running -> done | failed | cancelled``; a running
job whose process stopped goes back to ``queued`` (another process resumes it) until
its attempts are spent, then ``failed``. ``owner`` names the process running it and
``heartbeat_at`` when it last reported, so any process can tell a live job from an
interrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connectors.store.models import Base


class BackfillState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({BackfillState.done, BackfillState.failed, BackfillState.cancelled})
ACTIVE = (BackfillState.queued.value, BackfillState.running.value)


class BackfillRow(Base):
    __tablename__ = "backfills"
    __table_args__ = (
        Index("ix_backfills_query", "query_id", "created_at"),
        Index("ix_backfills_state", "state", "heartbeat_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    query_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    cameras: Mapped[list[str]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)
    since: Mapped[float | None] = mapped_column(Float, nullable=True)
    until: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(10))
    windows_done: Mapped[int] = mapped_column(Integer)
    windows_total: Mapped[int] = mapped_column(Integer)
    answers: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


@dataclass(frozen=True)
class BackfillJob:
    """A backfill job as stored."""

    id: str
    query_id: str
    version: int
    cameras: tuple[str, ...]
    seconds: float
    state: BackfillState
    windows_done: int = 0
    windows_total: int = 0
    answers: int = 0
    since: float | None = None
    until: float | None = None
    error: str | None = None
    owner: str | None = None
    attempts: int = 0
    created_at: float = 0.0
    started_at: float | None = None
    heartbeat_at: float | None = None
    finished_at: float | None = None

    @classmethod
    def of(cls, row: Any) -> BackfillJob:
        values = {name: getattr(row, name) for name in cls.__dataclass_fields__}
        values["cameras"] = tuple(values["cameras"] or ())
        values["state"] = BackfillState(values["state"])
        return cls(**values)

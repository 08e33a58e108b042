"""Tables of the answer rollups: runs and per-minute aggregates per (query, camera).

Both are derived from ``answers`` as they are stored (:mod:`.maintain`) and can be
rebuilt from them (:mod:`.rebuild`); the migration ``0006_answer_rollups`` creates them
empty, with the SQL views ``feedwatch_runs`` and ``feedwatch_minutes`` over them.
Times are stream-clock epoch seconds, like ``answers.window_end``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from connectors.store.models import ROW_ID, Base


class RunRow(Base):
    """A maximal sequence of yes windows of one (query, camera, query version)."""

    __tablename__ = "answer_runs"
    __table_args__ = (Index("ix_answer_runs_series_end", "query_id", "camera_id", "run_end"),)

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(String(200))
    camera_id: Mapped[str] = mapped_column(String(200))
    query_version: Mapped[int] = mapped_column(Integer)  # 0: not recorded
    every: Mapped[float] = mapped_column(Float)
    run_start: Mapped[float] = mapped_column(Float)  # the first yes window's step start
    run_end: Mapped[float] = mapped_column(Float)  # the last yes window's end
    first_end: Mapped[float] = mapped_column(Float)  # the first yes window's end
    windows: Mapped[int] = mapped_column(Integer)
    matched_s: Mapped[float] = mapped_column(Float)
    peak_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    backfilled: Mapped[int] = mapped_column(Integer)  # backfilled windows in the run


class MinuteRow(Base):
    """What one (query, camera) answered in one minute of stream time."""

    __tablename__ = "answer_minutes"

    query_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch s, multiple of 60
    windows: Mapped[int] = mapped_column(Integer)  # answered windows whose step starts here
    yes_windows: Mapped[int] = mapped_column(Integer)
    matched_s: Mapped[float] = mapped_column(Float)  # seconds of matched time inside the minute
    runs_started: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[float] = mapped_column(Float)
    scored: Mapped[int] = mapped_column(Integer)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    backfilled: Mapped[int] = mapped_column(Integer)  # backfilled windows
    last_end: Mapped[float | None] = mapped_column(Float, nullable=True)  # newest end counted


RUNS: Any = RunRow.__table__
MINUTES: Any = MinuteRow.__table__

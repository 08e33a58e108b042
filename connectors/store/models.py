"""SQLAlchemy 2.0 models of the store.

``answers`` is unique on ``(query_id, camera_id, window_end)``: a redelivered answer
is dropped. ``evidence`` holds one small JPEG per selected frame of an answer (RoI box
drawn in, and also stored normalised in ``box``), keyed by the same triple plus the
frame's index in the selection, so evidence is written with the same idempotent
insert as its answer. No foreign keys point from answers to cameras or queries: in
Kafka mode answers can arrive before the query row, and redelivery must stay harmless.
The schema is created and changed only by the Alembic migrations in ``migrations/``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROW_ID = BigInteger().with_variant(Integer(), "sqlite")
"""Ids, offsets and byte counts: ``bigint`` on PostgreSQL (an ``integer`` id sequence ends
at 2,147,483,647); ``INTEGER`` on SQLite, which holds 64 bits already and numbers rows
only in an ``INTEGER PRIMARY KEY``."""

class Base(DeclarativeBase):
    """Declarative base of every store table."""


class CameraRow(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    uri: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)


class QueryRow(Base):
    __tablename__ = "queries"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    cameras: Mapped[list[str]] = mapped_column(JSON)
    every: Mapped[float] = mapped_column(Float)
    window: Mapped[float] = mapped_column(Float)
    answerer: Mapped[str] = mapped_column(String(50))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[float] = mapped_column(Float)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class AnswerRow(Base):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("query_id", "camera_id", "window_end", name="uq_answers_window"),
        Index("ix_answers_camera_end", "camera_id", "window_end"),
        Index("ix_answers_evaluated", "evaluated_at"),
        Index("ix_answers_end_id", "window_end", "id"),  # newest-first pages
        Index("ix_answers_query_end_id", "query_id", "window_end", "id"),  # ... of a question
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    query_id: Mapped[str] = mapped_column(String(200))
    camera_id: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    window_start: Mapped[float] = mapped_column(Float)
    window_end: Mapped[float] = mapped_column(Float)
    evaluated_at: Mapped[float] = mapped_column(Float)
    answerer: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    matched: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    frames: Mapped[list[float]] = mapped_column(JSON)
    rois: Mapped[list[list[float]]] = mapped_column(JSON)
    visual_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    model_ids: Mapped[dict[str, str]] = mapped_column(JSON)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    stages: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    every: Mapped[float | None] = mapped_column(Float, nullable=True)
    query_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class EvidenceRow(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        ForeignKeyConstraint(
            ["query_id", "camera_id", "window_end"],
            ["answers.query_id", "answers.camera_id", "answers.window_end"],
            name="fk_evidence_answer",
            ondelete="CASCADE",
        ),
        Index("ix_evidence_camera_end", "camera_id", "window_end"),
    )

    query_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_end: Mapped[float] = mapped_column(Float, primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    t: Mapped[float] = mapped_column(Float)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    box: Mapped[list[float]] = mapped_column(JSON)


class DeadLetterRow(Base):
    """A dead letter as the sink read it off the ``deadletter`` topic: where the failed
    record came from, why it failed, and the size of what it carried (the bytes stay on
    the topic). Unique on its own place in that topic, so a redelivery is dropped."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        UniqueConstraint("dl_partition", "dl_offset", name="uq_dead_letters_place"),
        Index("ix_dead_letters_at", "at"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    dl_partition: Mapped[int] = mapped_column(Integer)
    dl_offset: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[float] = mapped_column(Float)
    stage: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    camera: Mapped[str] = mapped_column(String(200))
    error_type: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(200))
    value_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class QueryFailureRow(Base):
    """Why a query was set aside: the newest failure a worker reported for it. The query
    shows ``failed`` while ``version`` is its current version (a new version clears it)."""

    __tablename__ = "query_failures"

    query_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(40))
    camera: Mapped[str] = mapped_column(String(200))
    error_type: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float)

"""The ``frames`` table (created by migration ``0004_frame_index``).

One row per encoded frame: camera, stream time ``t``, the CLIP ``model_id`` and
embedding size ``dim``, the global embedding, a JPEG thumbnail and optionally the
pooled patch grid (float16, ``grid_h`` × ``grid_w`` × ``dim``). Unique on
``(camera_id, t, model_id)`` so a redelivered frame is written once.

The embedding is a float16 blob on SQLite (and on a PostgreSQL without pgvector);
with pgvector the migration makes it a ``halfvec`` column, and the index searches it
through :func:`vector_table`, the same table with that column type, plus one HNSW
index per embedding size (a partial index on ``dim``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from connectors.store.frames.codec import halfvec_literal, parse_halfvec
from connectors.store.models import ROW_ID, Base


class _Embedded:
    """The columns a frame and a camera-minute group share: whose, which model, the
    embedding (rows are read by column name, so the declared order is free)."""

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(sa.String(200))
    model_id: Mapped[str] = mapped_column(sa.String(200))
    dim: Mapped[int] = mapped_column(sa.Integer)
    embedding: Mapped[bytes] = mapped_column(sa.LargeBinary)


class FrameRow(_Embedded, Base):
    __tablename__ = "frames"
    __table_args__ = (
        sa.UniqueConstraint("camera_id", "t", "model_id", name="uq_frames_frame"),
        sa.Index("ix_frames_camera_t", "camera_id", "t"),
        sa.Index("ix_frames_t", "t"),
    )

    t: Mapped[float] = mapped_column(sa.Float)
    thumb: Mapped[bytes] = mapped_column(sa.LargeBinary)
    grid: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True)
    grid_h: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    grid_w: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    frame_h: Mapped[int] = mapped_column(sa.Integer)
    frame_w: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[float] = mapped_column(sa.Float)


class FrameGroupRow(_Embedded, Base):
    """One camera-minute of the index: how many frames, and their mean embedding.

    Search ranks these first (exactly: a few thousand rows a day) and then only the
    frames of the best groups, since the best frames of a moment share its group.
    """

    __tablename__ = "frame_groups"
    __table_args__ = (
        sa.UniqueConstraint("camera_id", "start", "model_id", name="uq_frame_groups_group"),
        sa.Index("ix_frame_groups_start", "start"),
    )

    start: Mapped[float] = mapped_column(sa.Float)
    frames: Mapped[int] = mapped_column(sa.Integer)


class HalfVec(UserDefinedType[Any]):
    """pgvector's ``halfvec`` (any size): numpy in, numpy out, text on the wire."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "halfvec"

    def bind_processor(self, dialect: Any) -> Any:
        return lambda value: None if value is None else halfvec_literal(value)

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, self)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return lambda value: None if value is None else parse_halfvec(value)


def vector_table(name: str = "frames") -> sa.Table:
    """A table (``frames``, ``frame_groups``) as pgvector sees it: the embedding a halfvec."""
    source = FrameRow.__table__ if name == "frames" else FrameGroupRow.__table__
    columns = [
        sa.Column(c.name, HalfVec() if c.name == "embedding" else c.type, primary_key=c.primary_key)
        for c in source.columns
    ]
    return sa.Table(name, sa.MetaData(), *columns)


def hnsw_index_sql(dim: int) -> str:
    """The partial HNSW index (cosine) over the frames of one embedding size."""
    d = int(dim)
    return (
        f"CREATE INDEX IF NOT EXISTS ix_frames_hnsw_{d} ON frames USING hnsw "
        f"((embedding::halfvec({d})) halfvec_cosine_ops) WHERE dim = {d}"
    )

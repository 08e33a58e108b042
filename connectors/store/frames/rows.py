"""Rows of the ``frames`` table to and from :class:`IndexedFrame`, per backend."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from connectors.store.frames.codec import as_array, f16_bytes, from_f16
from pipeline.history.records import IndexedFrame


def to_row(f: IndexedFrame, vector: bool) -> dict[str, Any]:
    """The insert values of one frame (the embedding as halfvec or as a float16 blob)."""
    grid = f.grid
    return {
        "camera_id": f.camera,
        "t": float(f.t),
        "model_id": f.model_id,
        "dim": f.dim,
        "embedding": f.embedding if vector else f16_bytes(f.embedding),
        "thumb": f.thumb,
        "grid": None if grid is None else f16_bytes(grid),
        "grid_h": None if grid is None else int(grid.shape[0]),
        "grid_w": None if grid is None else int(grid.shape[1]),
        "frame_h": int(f.frame_size[0]),
        "frame_w": int(f.frame_size[1]),
        "created_at": time.time(),
    }


def has_halfvec(engine: Engine) -> bool:
    """Whether the store's ``frames.embedding`` is pgvector's halfvec."""
    if engine.dialect.name != "postgresql":
        return False
    sql = sa.text(
        "SELECT udt_name FROM information_schema.columns "
        "WHERE table_name = 'frames' AND column_name = 'embedding'"
    )
    with engine.connect() as conn:
        row = conn.execute(sql).first()
    return row is not None and row[0] == "halfvec"


def from_row(row: Any) -> IndexedFrame:
    """A stored row (any backend) as an :class:`IndexedFrame`."""
    r = row._mapping  # by name: ``Row.t`` is SQLAlchemy's tuple accessor, not the column
    grid = None
    if r["grid"] is not None and r["grid_h"]:
        grid = from_f16(r["grid"], (int(r["grid_h"]), int(r["grid_w"]), -1))
    return IndexedFrame(
        camera=r["camera_id"],
        t=float(r["t"]),
        model_id=r["model_id"],
        embedding=as_array(r["embedding"]),
        thumb=bytes(r["thumb"]),
        grid=grid,
        frame_size=(int(r["frame_h"]), int(r["frame_w"])),
    )

"""Bulk loading of frames into PostgreSQL with binary COPY (imports and benchmarks).

Row-by-row inserts spend most of their time formatting vectors as text; COPY in
binary format sends each embedding as big-endian float16 (pgvector's ``halfvec``
wire format: int16 dim, int16 unused, dim halves) or as the float16 blob the
portable schema keeps. Duplicates are not skipped: load into fresh ranges only.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from connectors.store.frames.codec import f16_bytes
from pipeline.history.records import IndexedFrame

COLUMNS = (
    "camera_id",
    "t",
    "model_id",
    "dim",
    "embedding",
    "thumb",
    "frame_h",
    "frame_w",
    "created_at",
)


def copy_frames(engine: Any, frames: Iterable[IndexedFrame], *, vector: bool) -> int:
    """COPY ``frames`` into ``frames`` (PostgreSQL only); returns how many were sent."""
    n = 0
    now = time.time()
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            sql = f"COPY frames ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            with cur.copy(sql) as copy:
                copy.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0))
                for f in frames:
                    copy.write(_tuple(f, vector, now))
                    n += 1
                copy.write(struct.pack("!h", -1))
        raw.commit()
    finally:
        raw.close()
    return n


def _field(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def _tuple(f: IndexedFrame, vector: bool, now: float) -> bytes:
    emb = np.asarray(f.embedding, dtype=np.float32)
    if vector:
        embedding = struct.pack("!hh", emb.shape[0], 0) + emb.astype(">f2").tobytes()
    else:
        embedding = f16_bytes(emb)
    fields = [
        f.camera.encode(),
        struct.pack("!d", f.t),
        f.model_id.encode(),
        struct.pack("!i", f.dim),
        embedding,
        f.thumb,
        struct.pack("!i", f.frame_size[0]),
        struct.pack("!i", f.frame_size[1]),
        struct.pack("!d", now),
    ]
    return struct.pack("!h", len(fields)) + b"".join(_field(x) for x in fields)

"""Camera-minute groups: the coarse level of search.

Text queries are far from every frame embedding (text and images sit apart in CLIP
space) and a camera's frames cluster around its static scene, so a graph index
(HNSW) or centroid lists (IVF) started from the query get caught in one camera's
cluster: their recall@10 against exact search stays low at any ``ef_search`` or
``probes`` (``feedwatch bench search``; figures in ``docs/history.md``). Video has a
structure those indexes ignore: a moment is a run of neighbouring frames. So each
camera-minute keeps its mean embedding; a wide search ranks the groups exactly (1,440
a camera-day), then ranks exactly only the frames of the best ``GROUPS_PER_RESULT·k``
groups.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import sqlalchemy as sa

from connectors.store.frames.codec import as_array, f16_bytes
from connectors.store.frames.schema import FrameGroupRow

GROUP_SECONDS = 60.0
GROUPS_PER_RESULT = 4


def bucket(t: float) -> float:
    return math.floor(t / GROUP_SECONDS) * GROUP_SECONDS


def refresh(conn: Any, frames: sa.Table, groups: sa.Table, keys: Iterable[tuple[str, float, str]],
            vector: bool) -> None:
    """Recompute the mean embedding of the groups ``(camera, start, model)`` from their frames."""
    insert = _insert(conn, groups)
    for camera, start, model in set(keys):
        c = frames.c
        rows = conn.execute(
            sa.select(c.embedding, c.dim).where(
                c.camera_id == camera, c.model_id == model, c.t >= start,
                c.t < start + GROUP_SECONDS,
            )
        ).all()
        if not rows:
            continue
        mean = np.mean([as_array(r[0]) for r in rows], axis=0)
        mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
        row = {"camera_id": camera, "start": start, "model_id": model, "dim": int(rows[0][1]),
               "frames": len(rows), "embedding": mean if vector else f16_bytes(mean)}
        stmt = insert.values(**row).on_conflict_do_update(
            index_elements=["camera_id", "start", "model_id"],
            set_={"frames": row["frames"], "embedding": insert.excluded.embedding},
        )
        conn.execute(stmt)


def rebuild_sql(dim: int) -> str:
    """All groups from the frames in one statement (PostgreSQL + pgvector; bulk loads)."""
    d = int(dim)
    return (
        "INSERT INTO frame_groups (camera_id, start, model_id, dim, frames, embedding) "
        f"SELECT camera_id, floor(t / {GROUP_SECONDS}) * {GROUP_SECONDS}, model_id, dim, "
        f"count(*), l2_normalize(avg(embedding::halfvec({d}))) FROM frames WHERE dim = {d} "
        "GROUP BY camera_id, floor(t / 60.0), model_id, dim "
        "ON CONFLICT (camera_id, start, model_id) DO UPDATE SET frames = EXCLUDED.frames, "
        "embedding = EXCLUDED.embedding"
    )


def _insert(conn: Any, table: sa.Table) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


GROUPS: Any = FrameGroupRow.__table__

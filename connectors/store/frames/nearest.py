"""Nearest frames to a text embedding, per backend.

* SQLite (and PostgreSQL without pgvector): exact. The camera/time filter runs in
  SQL on ``ix_frames_camera_t`` / ``ix_frames_t``; the float16 blobs of the rows it
  leaves are streamed in chunks and scored with one matrix product per chunk.
* pgvector: exact in SQL when the filter is narrow (fewer than ``exact_below`` rows:
  a bounded count decides), ordering by a distance expression the HNSW index cannot
  serve; otherwise the partial HNSW index of the embedding size, with
  ``hnsw.ef_search`` ≥ k and pgvector's iterative scan, so a filter applied after
  the index still fills k results.
Scores are cosine similarities (embeddings are L2-normalised).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from connectors.store.frames.codec import halfvec_literal
from pipeline.history.moments import Candidate

CHUNK = 20000


@dataclass(frozen=True)
class Filter:
    """Which frames a search looks at."""

    model_id: str
    dim: int
    cameras: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None

    def clauses(self, table: sa.Table) -> list[Any]:
        c = table.c
        out: list[Any] = [c.model_id == self.model_id, c.dim == self.dim]
        if self.cameras:
            out.append(c.camera_id.in_(self.cameras))
        if self.since is not None:
            out.append(c.t >= self.since)
        if self.until is not None:
            out.append(c.t < self.until)
        return out


def exact_numpy(conn: Any, table: sa.Table, where: Filter, q: Any, k: int) -> list[Candidate]:
    """Score every filtered frame in numpy; the best ``k``."""
    c = table.c
    stmt = sa.select(c.id, c.camera_id, c.t, c.embedding).where(*where.clauses(table))
    result = conn.execution_options(yield_per=CHUNK).execute(stmt)
    best: list[Candidate] = []
    for chunk in result.partitions(CHUNK):
        blobs = b"".join(bytes(r[3]) for r in chunk)
        embs = np.frombuffer(blobs, dtype="<f2").reshape(len(chunk), -1).astype(np.float32)
        scores = embs @ q
        top = _top(scores, k)
        best.extend(Candidate(int(chunk[i][0]), chunk[i][1], float(chunk[i][2]),
                              float(scores[i])) for i in top)
        best = sorted(best, key=lambda x: -x.score)[:k]
    return best


def _top(scores: Any, k: int) -> Any:
    if len(scores) <= k:
        return np.arange(len(scores))
    return np.argpartition(-scores, k - 1)[:k]


def pgvector(
    conn: Any,
    where: Filter,
    q: Any,
    k: int,
    *,
    exact: bool | None,
    ef_search: int,
    exact_below: int,
) -> list[Candidate]:
    """Nearest frames with pgvector: exact SQL for narrow filters, else HNSW."""
    sql_where, params = _where_sql(where)
    params.update(q=halfvec_literal(q), k=int(k))
    if exact is None:
        exact = _fewer_than(conn, sql_where, params, exact_below)
    d = int(where.dim)
    distance = f"(embedding::halfvec({d}) <=> CAST(:q AS halfvec({d})))"
    order = f"{distance} + 0" if exact else distance  # "+ 0": not servable by the index
    if not exact:
        conn.execute(sa.text(f"SET LOCAL hnsw.ef_search = {max(int(ef_search), int(k))}"))
        conn.execute(sa.text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    sql = (
        f"SELECT id, camera_id, t, {distance} AS distance FROM frames "
        f"WHERE {sql_where} ORDER BY {order} LIMIT :k"
    )
    rows = conn.execute(sa.text(sql), params).all()  # SET LOCAL holds: same autobegun tx
    found = [Candidate(int(r[0]), r[1], float(r[2]), 1.0 - float(r[3])) for r in rows]
    return sorted(found, key=lambda x: -x.score)


def _where_sql(where: Filter) -> tuple[str, dict[str, Any]]:
    # dim is inlined so the planner can match the partial index ``WHERE dim = D``
    parts = [f"dim = {int(where.dim)}", "model_id = :model_id"]
    params: dict[str, Any] = {"model_id": where.model_id}
    if where.cameras:
        names = [f":cam{i}" for i in range(len(where.cameras))]
        parts.append(f"camera_id IN ({', '.join(names)})")
        params.update({f"cam{i}": cam for i, cam in enumerate(where.cameras)})
    if where.since is not None:
        parts.append("t >= :since")
        params["since"] = float(where.since)
    if where.until is not None:
        parts.append("t < :until")
        params["until"] = float(where.until)
    return " AND ".join(parts), params


def _fewer_than(conn: Any, sql_where: str, params: dict[str, Any], n: int) -> bool:
    sql = f"SELECT count(*) FROM (SELECT 1 FROM frames WHERE {sql_where} LIMIT :cap) AS s"
    counted = conn.execute(sa.text(sql), {**params, "cap": int(n)}).scalar_one()
    return int(counted) < n

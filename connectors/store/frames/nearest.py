"""Nearest frames to a text embedding, per backend.

* SQLite (and PostgreSQL without pgvector): exact. The camera/time filter runs in
  SQL on ``ix_frames_camera_t`` / ``ix_frames_t``; the float16 blobs of the rows it
  leaves are streamed in chunks and scored with one matrix product per chunk.
* pgvector: exact in SQL when the filter is narrow (fewer than ``exact_below`` rows:
  a bounded count decides), ordering by a distance expression the HNSW index cannot
  serve; otherwise the partial HNSW index of the embedding size (``hnsw.ef_search``
  ≥ the hits wanted, pgvector's iterative scan so a filter applied after the index
  still fills them) finds ``ANN_FETCH·k`` hits, and the frames within ``EXPAND`` s of
  each hit on its camera are then ranked exactly: video is continuous, so the best
  frames of an event sit next to the frames the graph search reached.
Scores are cosine similarities (embeddings are L2-normalised).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from connectors.store.frames.codec import halfvec_literal
from connectors.store.frames.groups import GROUP_SECONDS, GROUPS_PER_RESULT
from pipeline.history.moments import Candidate

CHUNK = 20000
ANN_FETCH = 4  # approximate hits fetched per result wanted
EXPAND = 30.0  # seconds around an approximate hit that are ranked exactly


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


def exact_numpy(
    conn: Any, table: sa.Table, where: Filter, q: Any, k: int, extra: Any = None
) -> list[Candidate]:
    """Score every filtered frame in numpy; the best ``k``."""
    c = table.c
    stmt = sa.select(c.id, c.camera_id, c.t, c.embedding).where(*where.clauses(table))
    if extra is not None:
        stmt = stmt.where(extra)
    result = conn.execution_options(yield_per=CHUNK).execute(stmt)
    best: list[Candidate] = []
    for chunk in result.partitions(CHUNK):
        blobs = b"".join(bytes(r[3]) for r in chunk)
        embs = np.frombuffer(blobs, dtype="<f2").reshape(len(chunk), -1).astype(np.float32)
        scores = embs @ q
        top = _top(scores, k)
        best.extend(
            Candidate(int(chunk[i][0]), chunk[i][1], float(chunk[i][2]), float(scores[i]))
            for i in top
        )
        best = sorted(best, key=lambda x: -x.score)[:k]
    return best


def by_groups(
    conn: Any,
    frames: sa.Table,
    groups: sa.Table,
    where: Filter,
    q: Any,
    k: int,
    *,
    vector: bool,
    hits: int | None = None,
) -> list[Candidate]:
    """Rank camera-minute groups exactly, then the frames of the best ones exactly.

    ``hits``: how many distinct results matter (moments, when ``k`` frames are fetched
    to group them); ``GROUPS_PER_RESULT`` groups are looked at per hit.
    """
    n = GROUPS_PER_RESULT * (hits or k)
    if vector:
        best = _best_groups_sql(conn, where, q, n)
    else:
        clauses = _group_clauses(groups.c, where)
        best = [(c.camera, c.t) for c in _exact_rows(conn, groups, clauses, "start", q, n)]
    if not best:
        return []
    if not vector:
        c = frames.c
        near = sa.or_(*(sa.and_(c.camera_id == cam, c.t >= lo, c.t < lo + GROUP_SECONDS)
                        for cam, lo in best))
        return exact_numpy(conn, frames, where, q, k, extra=near)
    sql_where, params = _where_sql(where)
    windows, wparams = _windows_sql([(cam, lo, lo + GROUP_SECONDS) for cam, lo in best])
    params.update(wparams, q=halfvec_literal(q))
    return _query(conn, where.dim, f"{sql_where} AND ({windows})", params, k, exact=True)


def _best_groups_sql(conn: Any, where: Filter, q: Any, n: int) -> list[tuple[str, float]]:
    d = int(where.dim)
    parts = [f"dim = {d}", "model_id = :model_id"]
    params: dict[str, Any] = {"model_id": where.model_id, "q": halfvec_literal(q)}
    if where.cameras:
        parts.append(f"camera_id IN ({', '.join(f':cam{i}' for i in range(len(where.cameras)))})")
        params.update({f"cam{i}": cam for i, cam in enumerate(where.cameras)})
    if where.since is not None:
        parts.append("start > :since")
        params["since"] = float(where.since) - GROUP_SECONDS
    if where.until is not None:
        parts.append("start < :until")
        params["until"] = float(where.until)
    sql = (
        f"SELECT camera_id, start FROM frame_groups WHERE {' AND '.join(parts)} "
        f"ORDER BY (embedding::halfvec({d}) <=> CAST(:q AS halfvec({d}))) + 0 LIMIT {int(n)}"
    )
    return [(r[0], float(r[1])) for r in conn.execute(sa.text(sql), params)]


def _windows_sql(spans: list[tuple[str, float, float]]) -> tuple[str, dict[str, Any]]:
    """``(camera_id = c AND t >= lo AND t < hi) OR ...`` with its parameters."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for i, (camera, lo, hi) in enumerate(spans):
        parts.append(f"(camera_id = :wc{i} AND t >= :wl{i} AND t < :wh{i})")
        params[f"wc{i}"], params[f"wl{i}"], params[f"wh{i}"] = camera, lo, hi
    return " OR ".join(parts), params


def _exact_rows(
    conn: Any, table: sa.Table, clauses: list[Any], time_col: str, q: Any, k: int
) -> list[Candidate]:
    c = table.c
    stmt = sa.select(c.id, c.camera_id, c[time_col], c.embedding).where(*clauses)
    best: list[Candidate] = []
    for chunk in conn.execution_options(yield_per=CHUNK).execute(stmt).partitions(CHUNK):
        embs = np.frombuffer(b"".join(bytes(r[3]) for r in chunk), dtype="<f2")
        scores = embs.reshape(len(chunk), -1).astype(np.float32) @ q
        best.extend(Candidate(int(chunk[i][0]), chunk[i][1], float(chunk[i][2]),
                              float(scores[i])) for i in _top(scores, k))
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
    """Nearest frames with pgvector: exact SQL for narrow filters, else HNSW + expansion."""
    sql_where, params = _where_sql(where)
    params.update(q=halfvec_literal(q), k=int(k))
    if exact is None:
        exact = _fewer_than(conn, sql_where, params, exact_below)
    if exact:
        return _query(conn, where.dim, sql_where, params, k, exact=True)
    ef = min(1000, max(int(ef_search), ANN_FETCH * k))  # pgvector allows 1..1000
    conn.execute(sa.text(f"SET LOCAL hnsw.ef_search = {ef}"))
    conn.execute(sa.text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    hits = _query(conn, where.dim, sql_where, params, ANN_FETCH * k, exact=False)
    if not hits:
        return []
    near, near_params = _around(hits)
    found = _query(conn, where.dim, f"{sql_where} AND ({near})", {**params, **near_params}, k,
                   exact=True)
    return sorted({c.frame_id: c for c in [*hits, *found]}.values(), key=lambda x: -x.score)[:k]


def _query(
    conn: Any, dim: int, sql_where: str, params: dict[str, Any], k: int, *, exact: bool
) -> list[Candidate]:
    d = int(dim)
    distance = f"(embedding::halfvec({d}) <=> CAST(:q AS halfvec({d})))"
    order = f"{distance} + 0" if exact else distance  # "+ 0": not servable by the index
    sql = (
        f"SELECT id, camera_id, t, {distance} AS distance FROM frames "
        f"WHERE {sql_where} ORDER BY {order} LIMIT {int(k)}"
    )
    rows = conn.execute(sa.text(sql), params).all()  # SET LOCAL holds: same autobegun tx
    found = [Candidate(int(r[0]), r[1], float(r[2]), 1.0 - float(r[3])) for r in rows]
    return sorted(found, key=lambda x: -x.score)


def _around(hits: list[Candidate]) -> tuple[str, dict[str, Any]]:
    """SQL for "within EXPAND s of an approximate hit, on its camera" (merged windows)."""
    spans: list[tuple[str, float, float]] = []
    for c in sorted(hits, key=lambda x: (x.camera, x.t)):
        if spans and spans[-1][0] == c.camera and c.t - EXPAND <= spans[-1][2]:
            spans[-1] = (c.camera, spans[-1][1], c.t + EXPAND)
        else:
            spans.append((c.camera, c.t - EXPAND, c.t + EXPAND))
    return _windows_sql(spans)


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


def fewer_than(conn: Any, groups: sa.Table, where: Filter, n: int) -> bool:
    """Whether the filter leaves fewer than ``n`` frames, from the camera-minute groups'
    frame counts (a few thousand small rows a day, not the frames themselves; the
    groups at the ends of the range count whole, so the estimate errs high)."""
    g = groups.c
    stmt = sa.select(sa.func.coalesce(sa.func.sum(g.frames), 0)).where(*_group_clauses(g, where))
    return int(conn.execute(stmt).scalar_one()) < n


def _group_clauses(g: Any, where: Filter) -> list[Any]:
    clauses = [g.model_id == where.model_id, g.dim == where.dim]
    if where.cameras:
        clauses.append(g.camera_id.in_(where.cameras))
    if where.since is not None:
        clauses.append(g.start > where.since - GROUP_SECONDS)
    if where.until is not None:
        clauses.append(g.start < where.until)
    return clauses


def _fewer_than(conn: Any, sql_where: str, params: dict[str, Any], n: int) -> bool:
    sql = f"SELECT count(*) FROM (SELECT 1 FROM frames WHERE {sql_where} LIMIT :cap) AS s"
    counted = conn.execute(sa.text(sql), {**params, "cap": int(n)}).scalar_one()
    return int(counted) < n

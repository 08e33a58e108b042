"""The frame index store API: batched writes, paged reads for backfill, search.

Writes follow add/flush: :meth:`FrameIndex.add` queues frames (raising
:class:`~pipeline.errors.BackpressureError` with ``retry_after`` once
``max_pending`` wait), :meth:`FrameIndex.flush` inserts them in one transaction with
``ON CONFLICT DO NOTHING`` on ``(camera_id, t, model_id)``, so redelivery is harmless.

Search scores frames against a text embedding with cosine similarity, restricted
to one model id (embeddings of different models are not comparable), optional
cameras and a stream-time range ``[since, until)``, and groups the best frames into
moments (:mod:`pipeline.history.moments`). See :mod:`connectors.store.frames.nearest`
for how the nearest frames are found on each backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypedDict, Unpack

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from connectors.store import db
from connectors.store.batch import WriteBatch
from connectors.store.db import store_errors
from connectors.store.frames import groups, nearest
from connectors.store.frames import rows as rows_
from connectors.store.frames.nearest import Filter
from connectors.store.frames.schema import (
    FrameGroupRow,
    FrameRow,
    hnsw_index_sql,
    vector_table,
)
from pipeline.errors import ConfigError
from pipeline.history.moments import (
    DEFAULT_GAP,
    Candidate,
    Moment,
    check_limit,
    group_moments,
)
from pipeline.history.records import IndexedFrame
from pipeline.roi import estimate_roi, similarity_map

FRAMES = FrameRow.__table__
CANDIDATES_PER_HIT = 20


class Scope(TypedDict, total=False):
    """Which frames a search looks at, besides the model: ``cameras`` (none: all) and
    stream times ``[since, until)`` (``None``: open)."""

    cameras: Sequence[str]
    since: float | None
    until: float | None


class FrameIndex(WriteBatch[IndexedFrame]):
    """The ``frames`` table of a store: add/flush writes, reads and text search."""

    what = "frames"

    def __init__(
        self,
        engine: Engine,
        *,
        max_pending: int = 2000,
        retry_after: float = 1.0,
        ef_search: int = 200,
        exact_below: int = 20000,
        ann: str = "groups",
    ) -> None:
        if ann not in ("groups", "hnsw"):
            raise ConfigError("history.ann", ann, "groups or hnsw")
        super().__init__(max_pending, retry_after)
        self.ann = ann
        self.engine = engine
        self.ef_search = ef_search
        self.exact_below = exact_below
        self.vector = rows_.has_halfvec(engine)
        self.table: sa.Table = vector_table() if self.vector else FRAMES  # type: ignore[assignment]
        self.groups: sa.Table = (
            vector_table("frame_groups") if self.vector else FrameGroupRow.__table__  # type: ignore[assignment]
        )
        self._ann_dims: set[int] = set()
        self.written = 0

    @classmethod
    def from_url(cls, url: str, *, upgrade: bool = True, **kwargs: Any) -> FrameIndex:
        engine = db.make_engine(url)
        if upgrade:
            db.upgrade(engine)
        return cls(engine, **kwargs)

    @property
    def backend(self) -> str:
        """``pgvector`` (HNSW over halfvec) or the exact-search backend's dialect name."""
        return "pgvector" if self.vector else self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- writes ------------------------------------------------------------------
    def add(self, frames: Iterable[IndexedFrame]) -> None:
        """Queue a batch of frames for the next flush."""
        self._queue(list(frames))

    def _write(self, frames: Sequence[IndexedFrame]) -> int:
        return self.write(frames)

    def write(self, frames: Sequence[IndexedFrame]) -> int:
        """Insert frames at once (duplicates skipped); returns how many were new."""
        if not frames:
            return 0
        rows = [rows_.to_row(f, self.vector) for f in frames]
        for dim in {f.dim for f in frames} - self._ann_dims:
            self.ensure_ann_index(dim)
        stmt = self._insert().on_conflict_do_nothing(
            index_elements=["camera_id", "t", "model_id"]
        )

        stmt = stmt.returning(self.table.c.id)  # a row only for each frame really inserted
        keys = {(f.camera, groups.bucket(f.t), f.model_id) for f in frames}

        def work(conn: Any) -> int:
            n = len(conn.execute(stmt, rows).all())
            groups.refresh(conn, self.table, self.groups, keys, self.vector)
            return n

        inserted = int(self._run(work, write=True))
        self.written += inserted
        return inserted

    def rebuild_groups(self, dim: int) -> None:
        """Recompute every camera-minute group from the frames (after a bulk load)."""
        if self.vector:
            self._run(lambda conn: conn.execute(sa.text(groups.rebuild_sql(dim))), write=True)
            return
        c = self.table.c
        stmt = sa.select(c.camera_id, c.t, c.model_id).where(c.dim == dim)
        keys = {(r[0], groups.bucket(float(r[1])), r[2]) for r in self._rows(stmt)}
        self._run(lambda conn: groups.refresh(conn, self.table, self.groups, keys, False),
                  write=True)

    def ensure_ann_index(self, dim: int) -> None:
        """With pgvector: the HNSW index over frames of this embedding size (once)."""
        if self.vector:
            self._run(lambda conn: conn.execute(sa.text(hnsw_index_sql(dim))), write=True)
        self._ann_dims.add(int(dim))

    def _insert(self) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(self.table)

    # -- reads --------------------------------------------------------------------
    def count(self) -> int:
        return int(self._run(_count))

    def model_id(self) -> str | None:
        """The model of the newest frame (what search encodes text with)."""
        stmt = sa.select(self.table.c.model_id).order_by(self.table.c.id.desc()).limit(1)
        rows = self._rows(stmt)
        return None if not rows else str(rows[0][0])

    def cameras(self) -> list[str]:
        stmt = sa.select(self.table.c.camera_id).group_by(self.table.c.camera_id)
        return sorted(str(r[0]) for r in self._rows(stmt))

    def span(self, camera: str) -> tuple[float, float] | None:
        """(first, last) stream time stored for ``camera``."""
        c = self.table.c
        stmt = sa.select(sa.func.min(c.t), sa.func.max(c.t)).where(c.camera_id == camera)
        lo, hi = self._rows(stmt)[0]
        return None if lo is None else (float(lo), float(hi))

    def frames(
        self, camera: str, since: float, until: float, model_id: str | None = None
    ) -> list[IndexedFrame]:
        """The stored frames of one camera with ``since <= t <= until``, oldest first."""
        c = self.table.c
        stmt = sa.select(self.table).where(c.camera_id == camera, c.t >= since, c.t <= until)
        if model_id is not None:
            stmt = stmt.where(c.model_id == model_id)
        return [rows_.from_row(r) for r in self._rows(stmt.order_by(c.t))]

    def pages(
        self, camera: str, since: float, until: float, *, size: int, model_id: str | None = None
    ) -> Iterator[list[IndexedFrame]]:
        """:meth:`frames` in pages of at most ``size``, each read when the last is taken
        (keyset on ``t``: a camera has one frame per time and model)."""
        c, after = self.table.c, None
        while True:
            where = [c.camera_id == camera, c.t <= until,
                     c.t >= since if after is None else c.t > after]
            if model_id is not None:
                where.append(c.model_id == model_id)
            page = [rows_.from_row(r) for r in
                    self._rows(sa.select(self.table).where(*where).order_by(c.t).limit(size))]
            if page:
                yield page
            if len(page) < size:
                return
            after = page[-1].t

    def frame(self, frame_id: int) -> IndexedFrame | None:
        rows = self._rows(sa.select(self.table).where(self.table.c.id == int(frame_id)))
        return rows_.from_row(rows[0]) if rows else None

    def thumbnail(self, frame_id: int) -> bytes | None:
        stmt = sa.select(self.table.c.thumb).where(self.table.c.id == int(frame_id))
        rows = self._rows(stmt)
        return bytes(rows[0][0]) if rows else None

    # -- search --------------------------------------------------------------------
    def nearest(
        self,
        text_emb: Any,
        model_id: str,
        *,
        k: int = 10,
        exact: bool | None = None,
        hits: int | None = None,
        **scope: Unpack[Scope],
    ) -> list[Candidate]:
        """The ``k`` frames most similar to ``text_emb``, best first.

        ``exact=None`` chooses: exact when the filter leaves fewer than ``exact_below``
        frames, else the approximate method ``ann`` (camera-minute groups, or pgvector's
        HNSW); True/False force exact / approximate.
        """
        if unknown := scope.keys() - Scope.__optional_keys__:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
        q = np.asarray(text_emb, dtype=np.float32).ravel()
        cameras = tuple(scope.get("cameras", ()))
        where = Filter(model_id, len(q), cameras, scope.get("since"), scope.get("until"))
        found: list[Candidate] = self._run(
            lambda conn: self._nearest(conn, where, q, k, exact, hits)
        )
        return found

    def _nearest(
        self, conn: Any, where: Filter, q: Any, k: int, exact: bool | None,
        hits: int | None,
    ) -> list[Candidate]:
        if exact is None:
            exact = nearest.fewer_than(conn, self.groups, where, self.exact_below)
        if exact:
            if self.vector:
                return nearest.pgvector(conn, where, q, k, exact=True, ef_search=self.ef_search,
                                        exact_below=self.exact_below)
            return nearest.exact_numpy(conn, self.table, where, q, k)
        if self.ann == "hnsw" and self.vector:
            return nearest.pgvector(conn, where, q, k, exact=False, ef_search=self.ef_search,
                                    exact_below=self.exact_below)
        return nearest.by_groups(conn, self.table, self.groups, where, q, k, vector=self.vector,
                                 hits=hits)

    def search(
        self,
        text_emb: Any,
        model_id: str,
        *,
        limit: int = 10,
        gap: float = DEFAULT_GAP,
        alpha: float = 0.6,
        **scope: Unpack[Scope],
    ) -> list[Moment]:
        """Ranked moments for a text embedding, each with the box it points at (if a grid
        was kept)."""
        check_limit(limit)
        k = max(limit * CANDIDATES_PER_HIT, 200)
        found = self.nearest(text_emb, model_id, k=k, hits=limit, **scope)
        moments = group_moments(found, limit, gap)
        q = np.asarray(text_emb, dtype=np.float32).ravel()
        return [self._with_box(m, q, alpha) for m in moments]

    def _with_box(self, m: Moment, q: Any, alpha: float) -> Moment:
        row = self.frame(m.frame_id)
        if row is None or row.grid is None:
            return m
        box = estimate_roi(similarity_map(row.grid, q), alpha).normalized()
        return Moment(m.camera, m.t, m.score, m.frame_id, m.start, m.end, m.frames, box)

    # -- plumbing --------------------------------------------------------------------
    def _rows(self, stmt: Any) -> list[Any]:
        return list(self._run(lambda conn: list(conn.execute(stmt))))

    def _run(self, work: Any, write: bool = False) -> Any:
        connect = self.engine.begin if write else self.engine.connect
        with store_errors("frame index"), connect() as conn:
            return work(conn)


def _count(conn: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(FRAMES)).scalar_one())

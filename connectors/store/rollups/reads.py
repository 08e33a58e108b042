"""Reads of the rollups: summaries in buckets, runs with their incidents.

Everything comes from ``answer_minutes`` and ``answer_runs`` (indexed by query,
camera and time), never from scanning ``answers``; a summary reads the primary-key
ranges of the series it covers (found by :mod:`.newest`'s seeks), never the table.
A summary groups minute rows by their bucket's local wall-clock start, computed in
SQL from the minute and the time zone's offset (a CASE over the offset changes inside
the range), so one statement answers any bucket size in any zone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from connectors.store.alerts_models import IncidentRow
from connectors.store.db import store_errors
from connectors.store.models import AnswerRow
from connectors.store.rollups.newest import SeriesKey, newest_per_series, series
from connectors.store.rollups.schema import MINUTES, RUNS
from connectors.store.rollups.span import Grid, offsets

INCIDENTS: Any = IncidentRow.__table__
ANSWERS: Any = AnswerRow.__table__



@dataclass(frozen=True)
class Bucket:
    """One bucket of a summary (``runs``: runs that started in it)."""

    start: float
    end: float
    matched_s: float = 0.0
    windows: int = 0
    yes_windows: int = 0
    runs: int = 0
    max_score: float | None = None
    mean_score: float | None = None
    backfilled: int = 0


@dataclass(frozen=True)
class RunInfo:
    """A stored run with what the API and the dashboard show beside it."""

    id: int
    query_id: str
    camera: str
    query_version: int
    every: float
    start: float
    end: float
    windows: int
    matched_s: float
    peak_score: float | None
    backfilled: int
    open: bool
    first_answer_id: int | None
    incident_ids: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return self.end - self.start


class RollupReads:
    """Summaries and runs over one store's rollups."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(self, stmt: Any) -> list[Any]:
        with store_errors("rollup read failed", detail=False), self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def seeks(self, work: Callable[[Any], Any]) -> Any:
        """``work`` on one connection: the index seeks of :mod:`.newest`."""
        with store_errors("rollup read failed", detail=False), self.engine.connect() as conn:
            return work(conn)

    def newest(self, query_id: str | None = None, camera: str | None = None) -> float | None:
        """The newest stored window end of the matching series (from the rollups)."""
        def work(conn: Any) -> float | None:
            ends = newest_per_series(conn, series(conn, query_id, camera)).values()
            return max(ends, default=None)
        value: float | None = self.seeks(work)
        return value

    def series(self) -> list[SeriesKey]:
        """Every (query, camera) with rollups."""
        found: list[SeriesKey] = self.seeks(series)
        return found

    def summary(
        self, grid: Grid, query_id: str | None = None, camera: str | None = None
    ) -> list[Bucket]:
        """One bucket per grid step, all matching cameras (and queries) added up."""
        found = self._grouped(grid, query_id, camera, per_series=False)
        return _fill(grid, found.get(("", ""), {}))

    def per_series(
        self, grid: Grid, query_id: str | None = None, camera: str | None = None, *,
        queries: Sequence[str] = (), cameras: Sequence[str] = (),
    ) -> dict[SeriesKey, list[Bucket]]:
        """The same buckets for each (query, camera) separately (of any of ``queries`` on
        any of ``cameras`` too, when given)."""
        found = self._grouped(grid, query_id, camera, per_series=True,
                              among=(queries, cameras))
        return {key: _fill(grid, rows) for key, rows in sorted(found.items())}

    def _grouped(
        self, grid: Grid, query_id: str | None, camera: str | None, *, per_series: bool,
        among: tuple[Sequence[str], Sequence[str]] = ((), ()),
    ) -> dict[SeriesKey, dict[int, Any]]:
        if not grid.starts:
            return {}
        queries, cameras = among
        keys: list[SeriesKey] = [
            k for k in self.seeks(lambda conn: series(conn, query_id, camera))
            if (not queries or k[0] in queries) and (not cameras or k[1] in cameras)]
        if not keys:
            return {}
        m = MINUTES.c
        key = _local_key(m.minute, grid)
        per = [m.query_id, m.camera_id] if per_series else []
        stmt = sa.select(
            *per, key.label("k"), sa.func.sum(m.matched_s), sa.func.sum(m.windows),
            sa.func.sum(m.yes_windows), sa.func.sum(m.runs_started), sa.func.max(m.max_score),
            sa.func.sum(m.score_sum), sa.func.sum(m.scored), sa.func.sum(m.backfilled),
        ).where(
            # the series named, so the primary key's ranges are read, never the table;
            # integer bounds (PostgreSQL cannot bound a bigint index by a float)
            m.query_id.in_(sorted({k[0] for k in keys})),
            m.camera_id.in_(sorted({k[1] for k in keys})),
            m.minute >= math.floor(grid.starts[0]), m.minute < math.ceil(grid.end),
        ).group_by(*per, key)
        out: dict[SeriesKey, dict[int, Any]] = defaultdict(dict)
        for r in self._rows(_where(stmt, MINUTES, query_id, camera)):
            values = tuple(r)[len(per):]
            out[(r[0], r[1]) if per_series else ("", "")][int(values[0])] = values[1:]
        return out

    def runs(
        self,
        since: float,
        until: float,
        query_id: str | None = None,
        camera: str | None = None,
        limit: int = 100,
        before: tuple[float, int] | None = None,
    ) -> list[RunInfo]:
        """Runs overlapping ``[since, until)``, newest start first (``before``: keyset)."""
        r = RUNS.c
        stmt = sa.select(RUNS).where(r.run_end > since, r.run_start < until)
        if before is not None:
            stmt = stmt.where(sa.tuple_(r.run_start, r.id) < sa.tuple_(*before))
        stmt = _where(stmt, RUNS, query_id, camera).order_by(r.run_start.desc(), r.id.desc())
        rows = self._rows(stmt.limit(limit))
        return self._described(rows)

    def _described(self, rows: Sequence[Any]) -> list[RunInfo]:
        if not rows:
            return []
        keys = {(r.query_id, r.camera_id) for r in rows}
        newest = self._newest_per_series(keys)
        incidents = self._incidents(keys, min(r.run_start for r in rows),
                                    max(r.run_end for r in rows))
        firsts = self._first_answers(rows)
        return [
            RunInfo(
                id=r.id, query_id=r.query_id, camera=r.camera_id, query_version=r.query_version,
                every=r.every, start=r.run_start, end=r.run_end, windows=r.windows,
                matched_s=r.matched_s, peak_score=r.peak_score, backfilled=r.backfilled,
                open=newest.get((r.query_id, r.camera_id)) == r.run_end,
                first_answer_id=firsts.get((r.query_id, r.camera_id, r.first_end)),
                incident_ids=tuple(
                    i for i, lo, hi in incidents.get((r.query_id, r.camera_id), [])
                    if lo <= r.run_end and hi >= r.run_start
                ),
            )
            for r in rows
        ]

    def _newest_per_series(self, keys: set[SeriesKey]) -> dict[SeriesKey, float]:
        found: dict[SeriesKey, float] = self.seeks(lambda conn: newest_per_series(conn, keys))
        return found

    def _incidents(
        self, keys: set[SeriesKey], lo: float, hi: float
    ) -> dict[SeriesKey, list[tuple[str, float, float]]]:
        i = INCIDENTS.c
        reach = sa.func.coalesce(i.closed_at, 1e18)
        stmt = (
            sa.select(i.id, i.query_id, i.camera_id, i.started_at, reach)
            .where(sa.tuple_(i.query_id, i.camera_id).in_(sorted(keys)))
            .where(i.started_at <= hi, reach >= lo)
            .order_by(i.started_at, i.id)
        )
        out: dict[SeriesKey, list[tuple[str, float, float]]] = defaultdict(list)
        for r in self._rows(stmt):
            out[(r[1], r[2])].append((r[0], r[3], r[4]))
        return out

    def _first_answers(self, rows: Sequence[Any]) -> dict[tuple[str, str, float], int]:
        a = ANSWERS.c
        wanted = sorted({(r.query_id, r.camera_id, r.first_end) for r in rows})
        # one equality per answer: SQLite reads a row-value IN list by scanning the key
        stmt = sa.select(a.id, a.query_id, a.camera_id, a.window_end).where(sa.or_(*(
            sa.and_(a.query_id == q, a.camera_id == c, a.window_end == e) for q, c, e in wanted
        )))
        return {(r[1], r[2], r[3]): r[0] for r in self._rows(stmt)}


def _where(stmt: Any, table: Any, query_id: str | None, camera: str | None) -> Any:
    if query_id is not None:
        stmt = stmt.where(table.c.query_id == query_id)
    if camera is not None:
        stmt = stmt.where(table.c.camera_id == camera)
    return stmt


def _local_key(minute: Any, grid: Grid) -> Any:
    """SQL: the local wall-clock start of the bucket holding ``minute`` (naive epoch s)."""
    changes = offsets(grid.tz, grid.starts[0], grid.end)
    offset: Any = sa.literal(changes[0][1])
    if len(changes) > 1:
        offset = sa.case(
            *((minute < int(at), sa.literal(off)) for (at, _), (_, off)
              in zip(changes[1:], changes, strict=False)),
            else_=sa.literal(changes[-1][1]),
        )
    size = grid.size
    local = minute + offset
    return local - (local % size + size) % size


def _fill(grid: Grid, found: dict[int, Any]) -> list[Bucket]:
    buckets = []
    for start, end in grid.bounds():
        row = found.get(grid.local_key(start))
        if row is None:
            buckets.append(Bucket(start, end))
            continue
        matched, windows, yes, runs, top, total, scored, backfilled = row
        buckets.append(Bucket(
            start, end, float(matched or 0.0), int(windows or 0), int(yes or 0), int(runs or 0),
            None if top is None else float(top),
            float(total) / int(scored) if scored else None, int(backfilled or 0),
        ))
    return buckets

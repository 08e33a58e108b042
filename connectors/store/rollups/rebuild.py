"""Rebuild runs and minute rollups from the stored answers, in batches.

For each (query, camera) with stored answers: the rollups from its first stored
answer on are deleted, then its answers are walked forward in window-end order,
``batch`` at a time, each batch applied in its own short transaction by the same
code that keeps the rollups as answers arrive. Rollups older than the first stored
answer (whose raw answers retention already pruned) are kept. Run it while no writer
is storing answers for the series it rebuilds (e.g. after ``feedwatch db upgrade``,
before the workers start): an answer stored during the walk would count twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from connectors.store.db import store_errors
from connectors.store.rollups.maintain import (
    ANSWERS,
    POINT_COLUMNS,
    Maintainer,
    SeriesKey,
    lock_series,
)
from connectors.store.rollups.schema import MINUTES, RUNS
from connectors.store.rollups.series import minute_of

Progress = Callable[[SeriesKey, int], None]


@dataclass
class RebuildResult:
    series: int = 0
    answers: int = 0
    batches: int = 0


def rebuild_rollups(
    engine: Engine, batch: int = 5000, progress: Progress | None = None,
    only: Sequence[SeriesKey] | None = None,
) -> RebuildResult:
    """Refill the rollups of every (query, camera) from its stored answers (``only``:
    of these pairs)."""
    result = RebuildResult()
    with store_errors("rollup rebuild failed"):
        for key in _series(engine) if only is None else sorted(only):
            result.series += 1
            _clear(engine, key)
            after = -float("inf")
            while True:
                done, after = _batch(engine, key, after, batch)
                if not done:
                    break
                result.answers += done
                result.batches += 1
                if progress is not None:
                    progress(key, done)
    return result


def _series(engine: Engine) -> list[SeriesKey]:
    stmt = sa.select(ANSWERS.c.query_id, ANSWERS.c.camera_id).distinct()
    with engine.connect() as conn:
        return sorted((r[0], r[1]) for r in conn.execute(stmt))


def _clear(engine: Engine, key: SeriesKey) -> None:
    q, c = key
    a = ANSWERS.c
    with engine.begin() as conn:
        lock_series(conn, [key])
        first = conn.execute(
            sa.select(a.window_end, a.window_start, a.every)
            .where(a.query_id == q, a.camera_id == c)
            .order_by(a.window_end)
            .limit(1)
        ).first()
        if first is None:
            return
        step = first.every or (first.window_end - first.window_start) or 0.0
        since = minute_of(first.window_end - max(step, 0.0))
        conn.execute(sa.delete(RUNS).where(*_is(RUNS, key), RUNS.c.run_end >= first.window_end))
        conn.execute(sa.delete(MINUTES).where(*_is(MINUTES, key), MINUTES.c.minute >= since))


def _batch(engine: Engine, key: SeriesKey, after: float, size: int) -> tuple[int, float]:
    """Apply the next ``size`` answers after window end ``after``; (how many, last end)."""
    with engine.begin() as conn:
        lock_series(conn, [key])
        rows = conn.execute(
            sa.select(*POINT_COLUMNS)
            .where(*_is(ANSWERS, key), ANSWERS.c.window_end > after)
            .order_by(ANSWERS.c.window_end)
            .limit(size)
        ).all()
        if not rows:
            return 0, after
        last = float(rows[-1].window_end)
        maintainer = Maintainer(conn, horizon=last)
        points = maintainer.points(rows).get(key, {})
        maintainer.apply({key: list(points.values())})
        return len(rows), last


def _is(table: Any, key: SeriesKey) -> list[Any]:
    return [table.c.query_id == key[0], table.c.camera_id == key[1]]

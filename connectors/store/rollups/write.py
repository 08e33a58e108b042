"""Writing a batch's rollup changes: delete, update and insert runs; add minute deltas.

Minute rows are upserted additively (``windows = windows + new``, the larger max).
On PostgreSQL each kind of change is ONE statement over array parameters (``unnest``),
whatever the number of rows, so the writer pays a handful of round trips per batch;
elsewhere (SQLite) they are executemany calls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from connectors.store.rollups.schema import MINUTES, RUNS
from connectors.store.rollups.series import MinuteDelta, Run, Series

SeriesKey = tuple[str, str]
RUN_TYPES = {"query_version": "int", "every": "float8", "run_start": "float8",
             "run_end": "float8", "first_end": "float8", "windows": "int",
             "matched_s": "float8", "peak_score": "float8", "backfilled": "int"}
MINUTE_TYPES = {"windows": "int", "yes_windows": "int", "matched_s": "float8",
                "runs_started": "int", "score_sum": "float8", "scored": "int",
                "max_score": "float8", "backfilled": "int", "last_end": "float8"}
ADDED = ("windows", "yes_windows", "matched_s", "runs_started", "score_sum", "scored",
         "backfilled")
KEY_TYPES = {"query_id": "text", "camera_id": "text"}


def write_changes(conn: Any, changed: Sequence[tuple[SeriesKey, Series]]) -> None:
    """Delete, update and insert the changed runs; add the minute deltas."""
    runs = [(key, r) for key, s in changed for r in s.runs]
    gone = [r.id for _, r in runs if r.gone and r.id is not None]
    if gone:
        conn.execute(sa.delete(RUNS).where(RUNS.c.id.in_(gone)))
    updates = [{"rid": r.id, **_run_values(r)} for _, r in runs
               if r.id is not None and r.dirty and not r.gone]
    inserts = [{"query_id": k[0], "camera_id": k[1], **_run_values(r)} for k, r in runs
               if r.id is None and not r.gone]
    minutes = [
        {"query_id": k[0], "camera_id": k[1], "minute": m, **_minute_values(d)}
        for k, s in changed for m, d in s.minutes.items() if _nonzero(d)
    ]
    if conn.dialect.name == "postgresql":
        _write_arrays(conn, updates, inserts, minutes)
        return
    if updates:
        conn.execute(sa.update(RUNS).where(RUNS.c.id == sa.bindparam("rid")), updates)
    if inserts:
        conn.execute(sa.insert(RUNS), inserts)
    if minutes:
        conn.execute(_minute_upsert(), minutes)


def _write_arrays(conn: Any, updates: list[dict[str, Any]], inserts: list[dict[str, Any]],
                  minutes: list[dict[str, Any]]) -> None:
    """PostgreSQL: each kind of change as one statement over array parameters."""
    if updates:
        sets = ", ".join(f"{name} = v.{name}" for name in RUN_TYPES)
        source, params = _unnest({"rid": "int", **RUN_TYPES}, updates)
        conn.execute(sa.text(
            f"UPDATE answer_runs AS r SET {sets} FROM {source} WHERE r.id = v.rid"), params)
    if inserts:
        types = {**KEY_TYPES, **RUN_TYPES}
        source, params = _unnest(types, inserts)
        conn.execute(sa.text(
            f"INSERT INTO answer_runs ({', '.join(types)}) SELECT * FROM {source}"), params)
    if minutes:
        types = {**KEY_TYPES, "minute": "bigint", **MINUTE_TYPES}
        source, params = _unnest(types, minutes)
        sets = ", ".join(
            [f"{n} = answer_minutes.{n} + EXCLUDED.{n}" for n in ADDED]
            + [f"{n} = GREATEST(answer_minutes.{n}, EXCLUDED.{n})" for n in ("max_score",
                                                                            "last_end")]
        )
        conn.execute(sa.text(
            f"INSERT INTO answer_minutes ({', '.join(types)}) SELECT * FROM {source} "
            f"ON CONFLICT (query_id, camera_id, minute) DO UPDATE SET {sets}"), params)


def _unnest(types: dict[str, str], rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``unnest(CAST(:a AS int[]), ...) AS v(a, ...)`` and its array parameters."""
    casts = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in types.items())
    source = f"unnest({casts}) AS v({', '.join(types)})"
    return source, {name: [row[name] for row in rows] for name in types}


def _run_values(r: Run) -> dict[str, Any]:
    return {
        "query_version": r.version, "every": r.every, "run_start": r.start, "run_end": r.last_end,
        "first_end": r.first_end, "windows": r.windows, "matched_s": r.matched_s,
        "peak_score": r.peak, "backfilled": r.backfilled,
    }


def _minute_values(d: MinuteDelta) -> dict[str, Any]:
    return {
        "windows": d.windows, "yes_windows": d.yes_windows, "matched_s": d.matched_s,
        "runs_started": d.runs_started, "score_sum": d.score_sum, "scored": d.scored,
        "max_score": d.max_score, "backfilled": d.backfilled,
        "last_end": d.last_end if math.isfinite(d.last_end) else None,
    }


def _nonzero(d: MinuteDelta) -> bool:
    return bool(d.windows or d.matched_s or d.runs_started)


def _greater(old: Any, new: Any) -> Any:
    """The larger of two nullable values, in SQL (NULL loses)."""
    return sa.case(
        (new.is_(None), old), (old.is_(None), new), (new > old, new), else_=old
    )


def _minute_upsert() -> Any:
    stmt = sqlite.insert(MINUTES)
    ex, c = stmt.excluded, MINUTES.c
    changes: dict[str, Any] = {name: c[name] + ex[name] for name in ADDED}
    changes["max_score"] = _greater(c.max_score, ex.max_score)
    changes["last_end"] = _greater(c.last_end, ex.last_end)
    return stmt.on_conflict_do_update(
        index_elements=["query_id", "camera_id", "minute"], set_=changes
    )

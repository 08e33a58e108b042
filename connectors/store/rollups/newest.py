"""Which series have rollups, and the newest window end of each, by index seeks.

``answer_minutes`` holds one row per (query, camera) per minute: months of history are
tens of millions of rows, and ``max(last_end)`` read them all. Its primary key
(query_id, camera_id, minute) gives the series one seek each
(:func:`connectors.store.skip_scan.distinct_keys`), and a series' newest end lies in
its last minutes: a row's ``last_end`` is the end of a window whose step starts in that
minute, so it is below minute + 60 + every, and the newest minute row was written by a
window ending at or after it. Rows more than ``60 + EVERY_MAX`` seconds before the
newest minute cannot hold the newest end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from connectors.store.rollups.schema import MINUTES
from connectors.store.skip_scan import distinct_keys
from pipeline.query_rules import EVERY_MAX

SeriesKey = tuple[str, str]
REACH = 60 + EVERY_MAX  # s before a series' newest minute that may hold its newest end


def series(conn: Any, query_id: str | None = None, camera: str | None = None) -> list[SeriesKey]:
    """Every (query, camera) with minute rows, narrowed to ``query_id``/``camera``."""
    m = MINUTES.c
    queries = [query_id] if query_id is not None else distinct_keys(conn, m.query_id)
    found: list[SeriesKey] = []
    for q in queries:
        if camera is None:
            found += [(q, c) for c in distinct_keys(conn, m.camera_id, m.query_id == q)]
        elif _has(conn, q, camera):
            found.append((q, camera))
    return found


def newest_end(conn: Any, key: SeriesKey, most: float | None = None) -> float | None:
    """The newest window end counted for one series (at most ``most`` when given)."""
    m = MINUTES.c
    own = [m.query_id == key[0], m.camera_id == key[1]]
    if most is not None:
        own.append(m.minute <= math.floor(most))  # an integer: a float bound is no index bound
    top = sa.select(m.minute).where(*own).order_by(m.minute.desc()).limit(1).scalar_subquery()
    bound = [m.last_end <= most] if most is not None else []
    value = conn.execute(  # one round trip: the newest minute, then the minutes before it
        sa.select(sa.func.max(m.last_end)).where(*own, m.minute >= top - int(REACH), *bound)
    ).scalar()
    return None if value is None else float(value)


def newest_per_series(conn: Any, keys: Any, most: float | None = None) -> dict[SeriesKey, float]:
    """``{series: newest end}`` for the series in ``keys`` that have one."""
    out = {}
    for key in sorted(keys):
        value = newest_end(conn, key, most)
        if value is not None:
            out[key] = value
    return out


def selected(conn: Any, queries: Sequence[str] = (), cameras: Sequence[str] = ()
             ) -> list[SeriesKey]:
    """The series of any of ``queries`` on any of ``cameras`` (empty: all)."""
    found = series(conn, queries[0]) if len(queries) == 1 else series(conn)
    return [k for k in found
            if (not queries or k[0] in queries) and (not cameras or k[1] in cameras)]


def edge_minute(conn: Any, keys: Sequence[SeriesKey], *, last: bool = False,
                at_least: float | None = None, below: float | None = None) -> int | None:
    """The first (``last``: the last) minute of ``keys`` in [at_least, below): a seek
    per series."""
    m = MINUTES.c
    bounds = ([m.minute >= math.ceil(at_least)] if at_least is not None else []) + (
        [m.minute < math.ceil(below)] if below is not None else [])
    order = m.minute.desc() if last else m.minute
    found = [conn.execute(sa.select(m.minute).where(
        m.query_id == q, m.camera_id == c, *bounds).order_by(order).limit(1)).scalar()
        for q, c in keys]
    edges = [int(v) for v in found if v is not None]
    return (max if last else min)(edges, default=None)


def _has(conn: Any, query_id: str, camera: str) -> bool:
    m = MINUTES.c
    stmt = sa.select(m.minute).where(m.query_id == query_id, m.camera_id == camera).limit(1)
    return conn.execute(stmt).first() is not None

"""Distinct keys and the newest time per key, read by index seeks instead of scans.

``SELECT key, max(t) ... GROUP BY key`` reads every row of a table (or of an index over
it): on a store with months of history that is millions of rows for a handful of
cameras. With an index that starts with ``key`` (and goes on with ``t``), each distinct
key is one seek past the previous one and its newest ``t`` one more, so the cost is
per key, not per row. Both SQLite and PostgreSQL run these as index seeks.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def distinct_keys(conn: Any, col: Any, *where: Any) -> list[Any]:
    """The distinct values of ``col`` (ascending) among the rows matching ``where``;
    ``col`` must lead an index (after any columns ``where`` fixes by equality)."""
    found: list[Any] = []
    while True:
        after = [col > found[-1]] if found else [col.is_not(None)]
        nxt = conn.execute(sa.select(col).where(*where, *after).order_by(col).limit(1)).scalar()
        if nxt is None:
            return found
        found.append(nxt)


def newest_per_key(conn: Any, key: Any, t: Any, most: float | None = None) -> dict[Any, float]:
    """``{key value: max(t)}`` over the table, ``t`` at most ``most`` when given; an index
    on ``(key, t)`` makes it one seek per key."""
    out: dict[Any, float] = {}
    for k in distinct_keys(conn, key):
        bound = [t <= most] if most is not None else []
        newest = conn.execute(sa.select(sa.func.max(t)).where(key == k, *bound)).scalar()
        if newest is not None:
            out[k] = float(newest)
    return out

"""Why standing queries were set aside: one row per query, the newest failure reported.

The answers consumer records what workers report on the answers topic
(:mod:`connectors.bus.failure_messages`); a report for an older version than the
stored one is ignored (redelivery, a slow worker). A query is ``failed`` while the
stored failure's version is its current version, so a new version clears it without
a write, and the row is overwritten by the next failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connectors.bus.failure_messages import QueryError
from connectors.store.alerts_rows import insert_for
from connectors.store.db import store_errors
from connectors.store.models import QueryFailureRow
from pipeline.types import StandingQuery

FIELDS = ("version", "stage", "camera", "error_type", "message", "at")


class QueryFailures:
    """Records and reads query failures."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, errors: Iterable[QueryError]) -> None:
        """Store each failure unless a newer version's is stored (one transaction)."""
        newest: dict[str, QueryError] = {}
        for e in errors:
            if e.query_id not in newest or e.version >= newest[e.query_id].version:
                newest[e.query_id] = e
        if not newest:
            return
        with store_errors("recording query failures"), Session(self.engine) as s, s.begin():
            for e in newest.values():
                stmt = insert_for(s, QueryFailureRow).values(
                    query_id=e.query_id, **{f: getattr(e, f) for f in FIELDS})
                s.execute(stmt.on_conflict_do_update(
                    index_elements=["query_id"], set_={f: stmt.excluded[f] for f in FIELDS},
                    where=stmt.excluded.version >= QueryFailureRow.version))

    def current(self, queries: Sequence[StandingQuery]) -> dict[str, QueryError]:
        """The failure of each query that failed in its current version, by query id."""
        if not queries:
            return {}
        versions = {q.id: q.version for q in queries}
        stmt = select(QueryFailureRow).where(QueryFailureRow.query_id.in_(list(versions)))
        with store_errors("reading query failures", detail=False), Session(self.engine) as s:
            rows = list(s.scalars(stmt))
        return {r.query_id: _error(r) for r in rows if r.version == versions.get(r.query_id)}


def _error(row: QueryFailureRow) -> QueryError:
    return QueryError(query_id=row.query_id, **{f: getattr(row, f) for f in FIELDS})

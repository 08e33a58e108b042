"""When standing queries are due, per camera.

A query with ``every = E`` is due on a camera each time the camera's stream time
crosses the next multiple of ``E`` (multiples of E on the stream clock, so every
worker and every re-run picks the same window ends — the store's idempotency relies
on it). Its window is ``[end - window, end)``, clipped to the start of the camera's
stream. All queries due on a camera at the same end with the same window length come
back as one :class:`Due`, so they are scored against the window in one matrix product.
When the stream jumps (a live gap, a worker catching up), only the last
``ceil(window / every) + 1`` ends of a query are kept: older windows have left the
buffer anyway.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.questions import clean_question
from pipeline.types import StandingQuery

TIME_DECIMALS = 6  # window ends are rounded so that k·E is reproducible


@dataclass(frozen=True)
class Due:
    """Queries due together on one camera for one window ``[start, end)``."""

    camera: str
    start: float
    end: float
    queries: tuple[StandingQuery, ...]


def validate_query(query: StandingQuery) -> StandingQuery:
    """``query`` if its timing makes sense, else a ConfigError naming the field."""
    if not query.question.strip():
        raise ConfigError("question", query.question, "a non-empty question")
    clean_question(query.question)
    if not (query.every > 0 and math.isfinite(query.every)):
        raise ConfigError("every", query.every, "a positive duration")
    if not (query.window >= query.every and math.isfinite(query.window)):
        raise ConfigError("window", query.window, f"a duration of at least every ({query.every}s)")
    return query


class Scheduler:
    """Standing queries and, per (query, camera), the next window end to evaluate."""

    def __init__(self, queries: Iterable[StandingQuery] = ()) -> None:
        self._queries: dict[str, StandingQuery] = {}
        self._origin: dict[str, float] = {}
        self._now: dict[str, float] = {}
        self._next: dict[tuple[str, str], int] = {}
        for query in queries:
            self.put(query)

    @property
    def queries(self) -> tuple[StandingQuery, ...]:
        return tuple(self._queries.values())

    def put(self, query: StandingQuery) -> None:
        """Add or replace a query; a changed ``every`` restarts its schedule."""
        old = self._queries.get(query.id)
        self._queries[query.id] = validate_query(query)
        if old is not None and old.every != query.every:
            self._forget(query.id)

    def remove(self, query_id: str) -> None:
        self._queries.pop(query_id, None)
        self._forget(query_id)

    def queries_for(self, camera: str) -> list[StandingQuery]:
        return [q for q in self._queries.values() if q.watches(camera)]

    def horizon(self, camera: str | None = None) -> float:
        """The longest window any query needs (on ``camera``), 0 when none."""
        qs = self._queries.values() if camera is None else self.queries_for(camera)
        return max((q.window for q in qs), default=0.0)

    def advance(self, camera: str, now: float, since: float | None = None) -> list[Due]:
        """Move ``camera``'s stream clock to ``now``; the windows that became due.

        ``since`` is where the data just seen started (a segment's start); on the
        first call for a camera it fixes the stream's origin.
        """
        origin = self._origin.setdefault(camera, now if since is None else min(since, now))
        before = self._now.get(camera, origin)
        self._now[camera] = max(now, before)
        groups: dict[tuple[float, float], list[StandingQuery]] = defaultdict(list)
        for query in self.queries_for(camera):
            for end in self._due_ends(query, camera, now, before):
                groups[(end, query.window)].append(query)
        return [
            Due(camera, max(origin, round(end - window, TIME_DECIMALS)), end, tuple(qs))
            for (end, window), qs in sorted(groups.items())
        ]

    def _due_ends(self, query: StandingQuery, camera: str, now: float, since: float) -> list[float]:
        key = (query.id, camera)
        if key not in self._next:
            self._next[key] = math.floor(since / query.every + 1e-9) + 1
        k_next = self._next[key]
        k_last = math.floor(now / query.every + 1e-9)
        if k_last < k_next:
            return []
        self._next[key] = k_last + 1
        keep = math.ceil(query.window / query.every) + 1
        first = max(k_next, k_last - keep + 1)
        return [round(k * query.every, TIME_DECIMALS) for k in range(first, k_last + 1)]

    def _forget(self, query_id: str) -> None:
        for key in [k for k in self._next if k[0] == query_id]:
            del self._next[key]

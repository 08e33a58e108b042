"""When standing queries are due, per camera.

A query with ``every = E`` is due on a camera each time the camera's stream time
crosses the next multiple of ``E`` (multiples of E on the stream clock, so every
worker and every re-run picks the same window ends — the store's idempotency relies
on it). Its window is ``[end - window, end)``, clipped to the start of the camera's
stream. All queries due on a camera at the same end with the same window length come
back as one :class:`Due`, so they are scored against the window in one matrix product.
Every window is answered exactly once, however far one call moves the clock (a
10-s segment of a long-GOP camera makes ten 1-s windows due at once); the frames
they need stay buffered because :meth:`Scheduler.needed_from` tells the buffer where
the oldest pending window starts. Two stated policies skip windows, each counted in
:attr:`Scheduler.skipped` and recorded in :attr:`Scheduler.skips` (one record, and one
log line, per run of windows: :mod:`pipeline.skips`):

- ``gap``: a window with no frame to look at. Those lying wholly inside a hole in the
  stream (between the end of the data seen before and the start of the data just seen)
  are skipped here by arithmetic, never listed; one at the edge of a hole, or inside
  a stall within a segment, is due and found empty by its caller, who hands it back
  (:meth:`Scheduler.skip_empty`) to be counted with its hole;
- ``lag`` (live catch-up, off unless ``max_lag`` is set): a window that ended more
  than ``max_lag`` seconds before the wall clock. It applies only to cameras whose
  stream clock is the wall clock (live and paced sources); a file read as fast as
  it decodes has times from 0 and is never skipped.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.query_rules import check_query_id
from pipeline.questions import clean_question
from pipeline.skips import Skip, SkipLog
from pipeline.types import StandingQuery

TIME_DECIMALS = 6  # window ends are rounded so that k·E is reproducible
MAX_DUE_PER_ADVANCE = 20_000
"""Windows one segment may make due for one query (a 2-s segment makes a handful; a
header claiming hours of stream would otherwise hold the worker for all cameras)."""
WALL_CLOCK_SLACK = 86_400.0
"""A camera whose stream origin is within a day of the wall clock runs on the wall
clock (live or paced); only such cameras can be behind."""


@dataclass(frozen=True)
class Due:
    """Queries due together on one camera for one window ``[start, end)``."""

    camera: str
    start: float
    end: float
    queries: tuple[StandingQuery, ...]


def validate_query(query: StandingQuery) -> StandingQuery:
    """``query`` if its id and timing make sense, else a ConfigError naming the field."""
    check_query_id(query.id)
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

    def __init__(
        self,
        queries: Iterable[StandingQuery] = (),
        *,
        max_lag: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_lag is not None and not (max_lag > 0 and math.isfinite(max_lag)):
            raise ConfigError("max_lag", max_lag, "a positive number of seconds, or None")
        if max_lag is not None and clock is None:
            raise ConfigError("clock", clock, "a wall clock when max_lag is set")
        self._queries: dict[str, StandingQuery] = {}
        self._origin: dict[str, float] = {}
        self._now: dict[str, float] = {}
        self._next: dict[tuple[str, str], int] = {}
        self._on_wall: dict[str, bool] = {}
        self.max_lag, self._clock = max_lag, clock
        self.skips = SkipLog()
        for query in queries:
            self.put(query)

    @property
    def skipped(self) -> Counter[str]:
        """Windows skipped by policy: ``gap`` and ``lag`` (see the module doc)."""
        return self.skips.counts

    def skip_empty(self, due: Due, why: str = "gap") -> None:
        """``due``'s window holds no frame (the edge of a hole, a stall): its queries'
        windows are skipped for ``why``, in the record of their hole."""
        for query in due.queries:
            self.skips.add(Skip(due.camera, query.id, why, due.end, due.end, 1), query.every)

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

    def query(self, query_id: str) -> StandingQuery | None:
        return self._queries.get(query_id)

    def queries_for(self, camera: str) -> list[StandingQuery]:
        return [q for q in self._queries.values() if q.watches(camera)]

    def horizon(self, camera: str | None = None) -> float:
        """The longest window any query needs (on ``camera``), 0 when none."""
        qs = self._queries.values() if camera is None else self.queries_for(camera)
        return max((q.window for q in qs), default=0.0)

    def needed_from(self, camera: str, since: float) -> float | None:
        """Where the oldest window not yet due on ``camera`` starts (frames from there on
        must stay buffered); ``since`` is where new data starts. None: nothing pending."""
        if camera not in self._origin:
            return since if self.queries_for(camera) else None
        now = self._now[camera]
        starts = [
            self._k_next(q, camera, now) * q.every - q.window for q in self.queries_for(camera)
        ]
        return max(min(starts), self._origin[camera]) if starts else None

    def advance(self, camera: str, now: float, since: float | None = None) -> list[Due]:
        """Move ``camera``'s stream clock to ``now``; the windows that became due.

        ``since`` is where the data just seen started (a segment's start); on the
        first call for a camera it fixes the stream's origin. Windows between the
        previous clock and ``since`` with no data in them are skipped (``gap``).
        """
        origin = self._origin.setdefault(camera, now if since is None else min(since, now))
        before = self._now.get(camera, origin)
        self._now[camera] = max(now, before)
        gap = (before, since) if since is not None and since > before else None
        groups: dict[tuple[float, float], list[StandingQuery]] = defaultdict(list)
        for query in self.queries_for(camera):
            for end in self._due_ends(query, camera, now, before, gap):
                groups[(end, query.window)].append(query)
        return [
            Due(camera, max(origin, round(end - window, TIME_DECIMALS)), end, tuple(qs))
            for (end, window), qs in sorted(groups.items())
        ]

    def _k_next(self, query: StandingQuery, camera: str, since: float) -> int:
        key = (query.id, camera)
        if key not in self._next:
            self._next[key] = math.floor(since / query.every + 1e-9) + 1
        return self._next[key]

    def _due_ends(
        self,
        query: StandingQuery,
        camera: str,
        now: float,
        since: float,
        gap: tuple[float, float] | None,
    ) -> list[float]:
        k_next = self._k_next(query, camera, since)
        k_last = math.floor(now / query.every + 1e-9)
        if k_last < k_next:
            return []
        if gap is not None:  # windows wholly inside the hole are counted, never listed
            k_in = max(k_next, math.ceil((gap[0] + query.window) / query.every - 1e-9))
            k_out = min(k_last, math.floor(gap[1] / query.every + 1e-9))
            if k_out >= k_in:
                self._skip_range(camera, query, k_in, k_out, "gap")
                ranges = [range(k_next, k_in), range(k_out + 1, k_last + 1)]
            else:
                ranges = [range(k_next, k_last + 1)]
        else:
            ranges = [range(k_next, k_last + 1)]
        if sum(len(r) for r in ranges) > MAX_DUE_PER_ADVANCE:
            raise ConfigError(
                "segment duration", f"{now - since:g} s of stream time at once",
                f"at most {MAX_DUE_PER_ADVANCE} windows of query {query.id} per segment")
        self._next[(query.id, camera)] = k_last + 1
        ends = [round(k * query.every, TIME_DECIMALS) for r in ranges for k in r]
        kept = [e for e in ends if not _in_gap(e - query.window, e, gap)]
        self._skip(camera, query, ends, kept, "gap")
        if self.max_lag is not None and self._wall_clocked(camera):
            assert self._clock is not None
            oldest = self._clock() - self.max_lag
            lagging = kept
            kept = [e for e in kept if e >= oldest]
            self._skip(camera, query, lagging, kept, "lag")
        return kept

    def _wall_clocked(self, camera: str) -> bool:
        if camera not in self._on_wall:
            assert self._clock is not None
            self._on_wall[camera] = abs(self._origin[camera] - self._clock()) < WALL_CLOCK_SLACK
        return self._on_wall[camera]

    def _skip_range(self, camera: str, query: StandingQuery, k0: int, k1: int, why: str) -> None:
        first, last = round(k0 * query.every, TIME_DECIMALS), round(k1 * query.every, TIME_DECIMALS)
        self.skips.add(Skip(camera, query.id, why, first, last, k1 - k0 + 1), query.every)

    def _skip(
        self, camera: str, query: StandingQuery, ends: list[float], kept: list[float], why: str
    ) -> None:
        keep = set(kept)  # once: a set per element made this quadratic
        gone = [e for e in ends if e not in keep]
        if gone:
            self.skips.add(Skip(camera, query.id, why, gone[0], gone[-1], len(gone)), query.every)

    def forget_camera(self, camera: str) -> None:
        """Drop ``camera``'s clock and schedule (another worker took it over)."""
        self._origin.pop(camera, None)
        self._now.pop(camera, None)
        self._on_wall.pop(camera, None)
        for key in [k for k in self._next if k[1] == camera]:
            del self._next[key]

    def _forget(self, query_id: str) -> None:
        for key in [k for k in self._next if k[0] == query_id]:
            del self._next[key]


def _in_gap(start: float, end: float, gap: tuple[float, float] | None) -> bool:
    """True when ``[start, end)`` lies wholly inside the hole ``gap`` (no frame in it)."""
    return gap is not None and start >= gap[0] - 1e-9 and end <= gap[1] + 1e-9

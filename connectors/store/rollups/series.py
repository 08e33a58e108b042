"""Runs and per-minute rollups of one (query, camera), kept incrementally.

The definitions (also in ``docs/answers-over-time.md``):

* A yes window contributes its last step, ``[window_end - every, window_end)``, so
  consecutive windows tile time once; matched time is the union of those steps.
* A run is a maximal sequence of consecutive yes windows (in window-end order) of one
  query version; it ends at a no (or unknown) answer, at a new query version, or
  where more than two steps pass with no answer: answers at ``a`` then ``b`` are in one
  run only if ``(b.end - b.every) - a.end <= 2 * every``.
* In the minute rollups a window counts in the minute where its step starts, matched
  seconds are cut at minute boundaries, and a run counts in the minute it starts.

:class:`Series` holds the stored neighbourhood of a batch's new answers (loaded by
:mod:`connectors.store.rollups.maintain`) and applies new answers one at a time, in
any order: the rollups come out the same as if every answer had arrived in order,
which is how out-of-order answers count once. Redelivered answers are never applied
(only rows that were really inserted are). Nothing here touches SQL.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

MINUTE = 60
SLACK = 1e-6  # seconds of float noise tolerated by the gap rule
GAP_STEPS = 2  # a run survives at most this many steps with no answer


@dataclass(frozen=True)
class Point:
    """What the rollups need of one stored answer."""

    end: float
    yes: bool
    every: float
    version: int = 0  # 0: not recorded
    score: float | None = None
    backfilled: bool = False

    @property
    def start(self) -> float:
        """Start of the step this window contributes."""
        return self.end - self.every


def linked(a: Point | None, b: Point | None) -> bool:
    """Whether ``b``, the answer right after ``a``, continues ``a``'s run."""
    if a is None or b is None or not (a.yes and b.yes) or a.version != b.version:
        return False
    return b.start - a.end <= GAP_STEPS * b.every + SLACK


def minute_of(t: float) -> int:
    """Start (epoch s) of the minute holding ``t``."""
    return math.floor(t / MINUTE) * MINUTE


def subtract(
    lo: float, hi: float, others: Iterable[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The parts of ``[lo, hi)`` outside every interval of ``others``."""
    pieces = [(lo, hi)]
    for a, b in others:
        kept: list[tuple[float, float]] = []
        for x, y in pieces:
            if b <= x or a >= y:
                kept.append((x, y))
                continue
            if a > x:
                kept.append((x, a))
            if b < y:
                kept.append((b, y))
        pieces = kept
    return pieces


def per_minute(lo: float, hi: float) -> Iterator[tuple[int, float]]:
    """``[lo, hi)`` cut at minute boundaries: (minute, seconds) pairs."""
    m = minute_of(lo)
    while m < hi:
        part = min(hi, m + MINUTE) - max(lo, m)
        if part > 0:
            yield m, part
        m += MINUTE


def union_length(steps: Iterable[tuple[float, float]]) -> float:
    """Total length of the union of intervals."""
    total, reach = 0.0, -math.inf
    for a, b in sorted(steps):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


@dataclass
class Run:
    """A run's stored figures; ``id`` None until written, ``gone`` once merged or split."""

    first_end: float
    last_end: float
    start: float
    every: float
    version: int
    windows: int = 0
    matched_s: float = 0.0
    peak: float | None = None
    backfilled: int = 0
    id: int | None = None
    dirty: bool = True
    gone: bool = False

    @classmethod
    def of(cls, p: Point) -> Run:
        return cls(p.end, p.end, p.start, p.every, p.version)

    def contains(self, end: float) -> bool:
        return not self.gone and self.first_end <= end <= self.last_end

    def take(self, p: Point, matched: float) -> None:
        """Count yes window ``p`` (``matched``: seconds it adds to the run's union)."""
        if p.end < self.first_end:
            self.first_end, self.start = p.end, p.start
        self.last_end = max(self.last_end, p.end)
        self.windows += 1
        self.matched_s += matched
        self.peak = _max(self.peak, p.score)
        self.backfilled += int(p.backfilled)
        self.dirty = True

    def absorb(self, later: Run) -> None:
        """Merge the run right after this one into it."""
        self.last_end = later.last_end
        self.windows += later.windows
        self.matched_s += later.matched_s
        self.peak = _max(self.peak, later.peak)
        self.backfilled += later.backfilled
        self.dirty, later.gone = True, True


@dataclass
class MinuteDelta:
    """What a batch adds to one minute's rollup row."""

    windows: int = 0
    yes_windows: int = 0
    matched_s: float = 0.0
    runs_started: int = 0
    score_sum: float = 0.0
    scored: int = 0
    max_score: float | None = None
    backfilled: int = 0
    last_end: float = -math.inf


def build_runs(points: Sequence[Point]) -> list[Run]:
    """The runs of ``points`` (sorted by end), from scratch."""
    runs: list[Run] = []
    steps: list[list[tuple[float, float]]] = []
    prev: Point | None = None
    for p in points:
        if p.yes:
            if not linked(prev, p):  # a yes ``prev`` is always the last run's last window
                runs.append(Run.of(p))
                steps.append([])
            runs[-1].take(p, 0.0)
            steps[-1].append((p.start, p.end))
        prev = p
    for run, own in zip(runs, steps, strict=True):
        run.matched_s = union_length(own)
    return runs


@dataclass(eq=False)
class Series:
    """The neighbourhood of one (query, camera) that a batch of new answers touches."""

    points: dict[float, Point]
    runs: list[Run]
    load_run: Callable[[Run], Iterable[Point]]  # stored answers inside a run (for a split)
    minutes: dict[int, MinuteDelta] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ends = sorted(self.points)
        self.max_every = max((p.every for p in self.points.values()), default=0.0)

    def add(self, p: Point) -> bool:
        """Apply one newly stored answer; False if it is already counted here."""
        if p.end in self.points:
            return False
        i = bisect_left(self.ends, p.end)
        prev = self.points[self.ends[i - 1]] if i > 0 else None
        nxt = self.points[self.ends[i]] if i < len(self.ends) else None
        left, right = self._run_of(prev), self._run_of(nxt)
        self._insert(p)
        self._count_window(p)
        if not p.yes and left is not None and left is right:
            self._split(left)
        elif p.yes and left is not None and left is right:
            if linked(prev, p) and linked(p, nxt):
                left.take(p, self._own(p, left))
            else:
                self._split(left)
        elif p.yes:
            self._join(p, left if linked(prev, p) else None, right if linked(p, nxt) else None)
        return True

    def _insert(self, p: Point) -> None:
        self.points[p.end] = p
        insort(self.ends, p.end)
        self.max_every = max(self.max_every, p.every)

    def _minute(self, t: float) -> MinuteDelta:
        return self.minutes.setdefault(minute_of(t), MinuteDelta())

    def _count_window(self, p: Point) -> None:
        m = self._minute(p.start)
        m.windows += 1
        m.yes_windows += int(p.yes)
        m.backfilled += int(p.backfilled)
        m.last_end = max(m.last_end, p.end)
        if p.score is not None:
            m.score_sum += p.score
            m.scored += 1
            m.max_score = _max(m.max_score, p.score)
        if p.yes:
            others = [(q.start, q.end) for q in self._overlapping(p)]
            for lo, hi in subtract(p.start, p.end, others):
                for minute, seconds in per_minute(lo, hi):
                    self.minutes.setdefault(minute, MinuteDelta()).matched_s += seconds

    def _overlapping(self, p: Point) -> Iterator[Point]:
        """Yes answers other than ``p`` whose steps overlap ``p``'s."""
        for end in self.ends[bisect_right(self.ends, p.start):]:
            if end >= p.end + self.max_every:
                break
            q = self.points[end]
            if q.yes and end != p.end and q.start < p.end:
                yield q

    def _own(self, p: Point, run: Run) -> float:
        """Seconds ``p`` adds to the union of ``run``'s steps."""
        others = [(q.start, q.end) for q in self._overlapping(p) if run.contains(q.end)]
        return sum(hi - lo for lo, hi in subtract(p.start, p.end, others))

    def _run_of(self, p: Point | None) -> Run | None:
        if p is None or not p.yes:
            return None
        return next((r for r in self.runs if r.contains(p.end)), None)

    def _started(self, run: Run, by: int) -> None:
        self._minute(run.start).runs_started += by

    def _join(self, p: Point, left: Run | None, right: Run | None) -> None:
        """Yes answer ``p`` between runs it may continue (left), lead (right) or both."""
        if left is not None and right is not None:
            self._started(right, -1)
            left.absorb(right)
        if left is not None:
            left.take(p, self._own(p, left))
            return
        if right is not None:
            self._started(right, -1)
            right.first_end, right.start = p.end, p.start
            right.take(p, self._own(p, right))
            self._started(right, +1)
            return
        run = Run.of(p)
        run.take(p, p.every)
        self.runs.append(run)
        self._started(run, +1)

    def _split(self, run: Run) -> None:
        """``run`` was cut by an answer inside it: rebuild it from its answers."""
        inside = {q.end: q for q in self.load_run(run)}
        inside.update((e, q) for e, q in self.points.items() if run.first_end <= e <= run.last_end)
        run.gone = True
        self._started(run, -1)
        for new in build_runs([inside[e] for e in sorted(inside)]):
            self.runs.append(new)
            self._started(new, +1)


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)

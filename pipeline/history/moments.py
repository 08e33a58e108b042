"""Search hits: scored frames grouped into moments.

Neighbouring frames of one camera that match a text are one moment, not ten hits:
walking the candidates best first, a frame within ``gap`` seconds of a moment of its
camera joins it (stretching it), otherwise it starts a new one. A moment is reported
at its best frame (time, score, frame id), with its extent and frame count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import ConfigError

DEFAULT_GAP = 3.0


@dataclass(frozen=True)
class Candidate:
    """One scored frame of the index."""

    frame_id: int
    camera: str
    t: float
    score: float


@dataclass(frozen=True)
class Moment:
    """One search hit: a run of matching frames of one camera."""

    camera: str
    t: float  # time of the best-scoring frame
    score: float
    frame_id: int
    start: float
    end: float
    frames: int
    box: tuple[float, float, float, float] | None = None  # normalised (x0, y0, x1, y1)


def check_limit(limit: int, most: int = 1000) -> int:
    if not (isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit <= most):
        raise ConfigError("limit", limit, f"a whole number 1..{most}")
    return limit


def check_gap(gap: float) -> float:
    if not (isinstance(gap, int | float) and 0 <= gap < math.inf):
        raise ConfigError("gap", gap, "a finite number of seconds >= 0")
    return float(gap)


def group_moments(
    candidates: Sequence[Candidate], limit: int, gap: float = DEFAULT_GAP
) -> list[Moment]:
    """The ``limit`` best moments, best first (ties: earlier time, then camera).

    A frame near a moment always joins it (no second hit for the same event); it
    stretches the moment only when it scores close to the moment's best (within half
    the spread between the best candidate and the median one), so weak frames around
    an event do not chain it across the whole stream.
    """
    check_limit(limit)
    check_gap(gap)
    ordered = sorted(candidates, key=lambda c: (-c.score, c.t, c.camera, c.frame_id))
    if not ordered:
        return []
    slack = 0.5 * (ordered[0].score - ordered[len(ordered) // 2].score)
    moments: list[Moment] = []
    for c in ordered:
        i = _joinable(moments, c, gap)
        if i is None:
            if len(moments) < limit:
                moments.append(Moment(c.camera, c.t, c.score, c.frame_id, c.t, c.t, 1))
            continue
        m = moments[i]
        strong = c.score >= m.score - slack
        start, end = (min(m.start, c.t), max(m.end, c.t)) if strong else (m.start, m.end)
        moments[i] = Moment(m.camera, m.t, m.score, m.frame_id, start, end, m.frames + 1)
        if strong:
            _merge_into(moments, i, gap)
    return sorted(moments, key=lambda m: (-m.score, m.t, m.camera))


def _merge_into(moments: list[Moment], i: int, gap: float) -> None:
    """Fold moments of the same camera that a stretched moment ``i`` now reaches into it."""
    m = moments[i]
    near = [
        j for j, o in enumerate(moments)
        if j != i and o.camera == m.camera and o.start - gap <= m.end and m.start <= o.end + gap
    ]
    for j in near:
        o = moments[j]
        best = m if (m.score, -m.t) >= (o.score, -o.t) else o
        m = Moment(m.camera, best.t, best.score, best.frame_id, min(m.start, o.start),
                   max(m.end, o.end), m.frames + o.frames, best.box)
    moments[i] = m
    for j in sorted(near, reverse=True):
        del moments[j]


def _joinable(moments: Sequence[Moment], c: Candidate, gap: float) -> int | None:
    for i, m in enumerate(moments):
        if m.camera == c.camera and m.start - gap <= c.t <= m.end + gap:
            return i
    return None

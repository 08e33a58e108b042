"""Which frame times a sampler keeps, on a grid that is absolute in time.

A frame at time ``t`` is kept when ``floor(t · fps)`` differs from that of the
frame before it. The rule needs only the previous frame's time, so consecutive
segments decoded independently never sample the same grid cell twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.errors import ConfigError

GRID_EPS = 1e-6  # frame times that land exactly on a grid line count as on it


class SampleClock:
    """The sampling grid for ``fps`` samples per second."""

    def __init__(self, fps: float) -> None:
        if not (isinstance(fps, int | float) and math.isfinite(fps) and fps > 0):
            raise ConfigError("sample_fps", fps, "must be a number > 0")
        self.fps = float(fps)

    @property
    def interval(self) -> float:
        return 1.0 / self.fps

    def cell(self, t: float) -> int:
        """The grid cell of time ``t``."""
        return math.floor(t * self.fps + GRID_EPS)

    def keep(self, t: float, prev: float | None) -> bool:
        """Keep a frame at ``t`` whose predecessor was at ``prev`` (None: first frame)."""
        return prev is None or self.cell(t) != self.cell(prev)

    def select(self, times: Sequence[float], prev: float | None = None) -> list[int]:
        """Indexes of the kept frames among ``times`` (presentation order)."""
        kept: list[int] = []
        for i, t in enumerate(times):
            if self.keep(t, prev):
                kept.append(i)
            prev = t
        return kept


def keyframes_suffice(keyframe_times: Sequence[float], end: float, fps: float) -> bool:
    """True when keyframes alone fill every sampling cell: 1/fps ≥ keyframe interval.

    ``end`` is where the next keyframe (the next segment) begins.
    """
    if not keyframe_times:
        return False
    times = sorted(keyframe_times)
    gaps = [b - a for a, b in zip(times, [*times[1:], end], strict=True)]
    return 1.0 / fps >= max(gaps) - 1e-3

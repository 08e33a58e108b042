"""RoI figures of ``bench selection`` at several box sizes, each next to its baselines.

For every prompt-selected frame that shows the asked object, and every α in
:data:`ALPHAS`, the product's box (default estimator) is scored:

* ``hit``: the box (mapped to frame pixels) contains the object's centre;
* ``hit_offcentre``: the same, over the objects a centred box of that size misses;
* ``coverage``: the fraction of the object's pixels inside the box;
* ``random_hit``: a box of the same size at a uniformly random grid position
  (seeded per scene) contains the centre; ``centre_hit``: the centred box does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline import roi
from pipeline.scenes.render import ObjectTruth
from pipeline.types import RoI

ALPHAS = (0.15, 0.3, 0.6)


def ratio(a: float, b: int) -> float | None:
    """``a / b`` to four places; ``None`` when nothing was counted."""
    return round(a / b, 4) if b else None


def contains(box: RoI, frame_h: int, frame_w: int, o: ObjectTruth) -> bool:
    x0, y0, x1, y1 = box.to_pixels(frame_h, frame_w)
    return x0 <= o.centre[0] < x1 and y0 <= o.centre[1] < y1


def coverage(box: RoI, mask: np.ndarray[Any, Any]) -> float:
    """Fraction of the object's pixels (``mask``) inside the box."""
    total = int(mask.sum())
    if not total:
        return 0.0
    x0, y0, x1, y1 = box.to_pixels(*mask.shape)
    return float(mask[y0:y1, x0:x1].sum()) / total


def random_box(grid_h: int, grid_w: int, alpha: float, rng: random.Random) -> RoI:
    bh, bw = roi.roi_size(grid_h, grid_w, alpha)
    return RoI(rng.randint(0, grid_h - bh), rng.randint(0, grid_w - bw), bh, bw, grid_h, grid_w)


@dataclass
class Tally:
    """Hits of one box over the positive frames, and over the off-centre ones."""

    hits: int = 0
    total: int = 0
    off_hits: int = 0  # hits on objects that a centred box of the same size misses
    off_total: int = 0

    def add(self, hit: bool, offcentre: bool) -> None:
        self.hits += hit
        self.total += 1
        if offcentre:
            self.off_hits += hit
            self.off_total += 1

    def figures(self) -> dict[str, float | int | None]:
        return {
            "roi_hit_rate": ratio(self.hits, self.total),
            "roi_hit_offcentre": ratio(self.off_hits, self.off_total),
            "positive_frames": self.total, "offcentre_frames": self.off_total,
        }


@dataclass
class AlphaTally:
    """Counts for one α: the product's box, and its baselines over the same frames."""

    box: Tally = field(default_factory=Tally)
    covered: float = 0.0
    random_hits: int = 0
    centre_hits: int = 0

    def figures(self) -> dict[str, float | int | None]:
        frames = self.box.total
        return {
            "hit": ratio(self.box.hits, frames),
            "hit_offcentre": ratio(self.box.off_hits, self.box.off_total),
            "coverage": ratio(self.covered, frames),
            "random_hit": ratio(self.random_hits, frames),
            "centre_hit": ratio(self.centre_hits, frames),
            "frames": frames,
            "offcentre_frames": self.box.off_total,
        }


@dataclass
class RoiTallies:
    """One :class:`AlphaTally` per α."""

    by_alpha: dict[float, AlphaTally] = field(default_factory=lambda: {a: AlphaTally()
                                                                        for a in ALPHAS})

    def add(self, sim: np.ndarray[Any, Any], obj: ObjectTruth, mask: np.ndarray[Any, Any],
            frame_hw: tuple[int, int], estimator: str, rng: random.Random) -> None:
        """Score one positive frame's similarity map at every α."""
        gh, gw = sim.shape
        for alpha, t in self.by_alpha.items():
            box = roi.estimate_roi(sim, alpha, estimator)
            centred = roi.centred_roi(gh, gw, alpha)
            centre_hit = contains(centred, *frame_hw, obj)
            t.box.add(contains(box, *frame_hw, obj), offcentre=not centre_hit)
            t.covered += coverage(box, mask)
            t.centre_hits += centre_hit
            t.random_hits += contains(random_box(gh, gw, alpha, rng), *frame_hw, obj)

    def figures(self) -> dict[str, dict[str, float | int | None]]:
        return {str(a): t.figures() for a, t in self.by_alpha.items()}

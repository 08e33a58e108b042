"""Spatial region of interest on a patch grid, and the token crop it drives.

A box keeps a fraction α of the grid: ``round(√α·h) × round(√α·w)`` cells
(rounded half up, at least one cell, at most the grid), placed around a centre
estimated from the prompt–patch similarity map and shifted to lie inside the grid.

Centre estimators (cell coordinates, cell (i, j) has its centre at (i, j)):

* ``weighted`` (default): the mean position weighted by ``softmax(z / temperature)``
  where z is the map standardised to unit spread, so the sharpening is scale-free.
* ``peak``: the maximum of the map after a box blur of radius ``smooth`` cells;
  ties go to the cell nearest the grid centre, then row-major.
* ``topk_mean``: the paper's — mean position of the ⌈α·h·w⌉ best cells (ties
  row-major). With α=0.6 most of the grid is averaged, so it drifts to the centre.

The default is the one ``feedwatch bench selection --estimator all`` found best on
shapes-demo; its figures (all and off-centre objects) are in ``docs/evaluation.md``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from pipeline.errors import ConfigError
from pipeline.types import FloatArray, RoI

ESTIMATORS: tuple[str, ...] = ("weighted", "peak", "topk_mean")
DEFAULT_ESTIMATOR = "weighted"
DEFAULT_TEMPERATURE = 0.5
DEFAULT_SMOOTH = 1

Centre = tuple[float, float]


def similarity_map(patches: npt.ArrayLike, q: npt.ArrayLike) -> FloatArray:
    """Cosine similarity (h, w) of every patch embedding with the query embedding."""
    p = np.asarray(patches, dtype=np.float32)
    v = np.asarray(q, dtype=np.float32)
    if p.ndim != 3 or v.shape != (p.shape[2],):
        raise ValueError(f"need (h, w, D) patches and a (D,) query, got {p.shape}, {v.shape}")
    return np.asarray(p @ v, dtype=np.float32)


def check_alpha(alpha: float) -> float:
    """α as a float in (0, 1], else ConfigError."""
    if not (isinstance(alpha, int | float) and 0.0 < alpha <= 1.0):
        raise ConfigError("alpha", alpha, "a fraction of the grid in (0, 1]")
    return float(alpha)


def roi_size(grid_h: int, grid_w: int, alpha: float) -> tuple[int, int]:
    """(rows, cols) of an α-area box on a grid_h × grid_w grid."""
    if grid_h < 1 or grid_w < 1:
        raise ValueError(f"grid must be at least 1x1, got {grid_h}x{grid_w}")
    side = math.sqrt(check_alpha(alpha))
    return _clamp(_round_half_up(side * grid_h), 1, grid_h), _clamp(
        _round_half_up(side * grid_w), 1, grid_w
    )


def estimate_roi(
    sim: npt.ArrayLike,
    alpha: float = 0.6,
    estimator: str = DEFAULT_ESTIMATOR,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    smooth: int = DEFAULT_SMOOTH,
) -> RoI:
    """The α-box around the centre the chosen estimator finds on ``sim`` (h, w)."""
    s = _checked_map(sim)
    check_estimator(estimator)
    check_temperature(temperature)
    check_smooth(smooth)
    if estimator == "peak":
        centre = peak_centre(s, smooth)
    elif estimator == "weighted":
        centre = weighted_centre(s, temperature)
    else:
        centre = topk_mean_centre(s, alpha)
    return box_around(centre, s.shape[0], s.shape[1], alpha)


def centred_roi(grid_h: int, grid_w: int, alpha: float) -> RoI:
    """The α-box in the middle of the grid (the no-prompt baseline)."""
    return box_around(((grid_h - 1) / 2, (grid_w - 1) / 2), grid_h, grid_w, alpha)


def box_around(centre: Centre, grid_h: int, grid_w: int, alpha: float) -> RoI:
    """The α-box centred as near ``centre`` as the grid edges allow."""
    bh, bw = roi_size(grid_h, grid_w, alpha)
    top = _clamp(_round_half_up(centre[0] - (bh - 1) / 2), 0, grid_h - bh)
    left = _clamp(_round_half_up(centre[1] - (bw - 1) / 2), 0, grid_w - bw)
    return RoI(top, left, bh, bw, grid_h, grid_w)


def map_roi(roi: RoI, grid_h: int, grid_w: int) -> RoI:
    """The same box on another grid: size scaled, centre mapped proportionally.

    The size depends only on the two grids (so token counts are predictable);
    it keeps at least one cell and the box stays inside the target grid.
    """
    bh = _clamp(_round_half_up(roi.height * grid_h / roi.grid_h), 1, grid_h)
    bw = _clamp(_round_half_up(roi.width * grid_w / roi.grid_w), 1, grid_w)
    cy = (roi.top + roi.height / 2) * grid_h / roi.grid_h
    cx = (roi.left + roi.width / 2) * grid_w / roi.grid_w
    top = _clamp(_round_half_up(cy - bh / 2), 0, grid_h - bh)
    left = _clamp(_round_half_up(cx - bw / 2), 0, grid_w - bw)
    return RoI(top, left, bh, bw, grid_h, grid_w)


def crop_tokens(tokens: npt.NDArray[np.generic], roi: RoI) -> npt.NDArray[np.generic]:
    """The tokens (h, w, C) inside ``roi``, flattened row-major to (rows·cols, C)."""
    if tokens.ndim != 3 or tokens.shape[:2] != (roi.grid_h, roi.grid_w):
        raise ValueError(
            f"tokens {tokens.shape} do not match the RoI grid {roi.grid_h}x{roi.grid_w}"
        )
    box = tokens[roi.top : roi.top + roi.height, roi.left : roi.left + roi.width]
    return box.reshape(roi.tokens, tokens.shape[2])


def peak_centre(sim: npt.NDArray[np.float64], smooth: int = DEFAULT_SMOOTH) -> Centre:
    """Argmax of the box-blurred map; ties go to the cell nearest the grid centre."""
    blurred = _box_blur(sim, smooth)
    rows, cols = np.nonzero(blurred >= blurred.max() - 1e-12)
    mid_r, mid_c = (sim.shape[0] - 1) / 2, (sim.shape[1] - 1) / 2
    best = min(
        zip(rows.tolist(), cols.tolist(), strict=True),
        key=lambda rc: ((rc[0] - mid_r) ** 2 + (rc[1] - mid_c) ** 2, rc),
    )
    return float(best[0]), float(best[1])


def weighted_centre(
    sim: npt.NDArray[np.float64], temperature: float = DEFAULT_TEMPERATURE
) -> Centre:
    """Mean position under softmax weights of the standardised map."""
    spread = float(sim.std())
    z = (sim - sim.max()) / spread if spread > 0 else np.zeros_like(sim)
    w = np.exp(z / temperature)
    return _mean_position(w / w.sum())


def topk_mean_centre(sim: npt.NDArray[np.float64], alpha: float) -> Centre:
    """Mean position of the ⌈α·h·w⌉ highest cells (the paper's estimator)."""
    k = _clamp(math.ceil(check_alpha(alpha) * sim.size), 1, sim.size)
    flat = np.argsort(-sim.ravel(), kind="stable")[:k]
    rows, cols = np.divmod(flat, sim.shape[1])
    return float(rows.mean()), float(cols.mean())


def check_estimator(estimator: str) -> str:
    if estimator not in ESTIMATORS:
        raise ConfigError("estimator", estimator, f"one of {', '.join(ESTIMATORS)}")
    return estimator


def check_temperature(temperature: float) -> float:
    if not (isinstance(temperature, int | float) and 0.0 < temperature < math.inf):
        raise ConfigError("temperature", temperature, "a finite number > 0")
    return float(temperature)


def check_smooth(smooth: int) -> int:
    if not (isinstance(smooth, int) and not isinstance(smooth, bool) and smooth >= 0):
        raise ConfigError("smooth", smooth, "a whole number of cells >= 0")
    return smooth


def _checked_map(sim: npt.ArrayLike) -> npt.NDArray[np.float64]:
    s = np.asarray(sim, dtype=np.float64)
    if s.ndim != 2 or s.size == 0:
        raise ValueError(f"similarity map must be a non-empty (h, w) array, got {s.shape}")
    lowest = np.nanmin(s) if not np.all(np.isnan(s)) else 0.0
    return np.where(np.isnan(s), lowest, s)


def _mean_position(weights: npt.NDArray[np.float64]) -> Centre:
    rows, cols = np.indices(weights.shape)
    return float((rows * weights).sum()), float((cols * weights).sum())


def _box_blur(sim: npt.NDArray[np.float64], radius: int) -> npt.NDArray[np.float64]:
    """Mean over the (2r+1)² window, counting only cells inside the grid."""
    if radius == 0:
        return sim
    h, w = sim.shape
    padded = np.pad(sim, radius)
    ones = np.pad(np.ones_like(sim), radius)
    total, count = np.zeros_like(sim), np.zeros_like(sim)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            total += padded[dy : dy + h, dx : dx + w]
            count += ones[dy : dy + h, dx : dx + w]
    return total / count


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _clamp(x: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, x))

"""Prompt-guided temporal selection: which buffered frames a question looks at.

The score of frame t for question q is ``cos(g_t, q)``; embeddings are
L2-normalised, so one matrix product scores every question against every frame.
Selection mixes the ``k_prompt`` best-scoring frames with ``k_uniform`` frames
spread evenly over the window (the mix the Free Video-LLM paper found best).

Rules, in order:

* ties in score go to the earlier frame (stable ordering by index);
* a frame closer than ``min_gap`` seconds to an already chosen frame is skipped
  (near-duplicate suppression; ``min_gap=0`` only removes exact repeats);
* a uniform position already taken is replaced by the nearest free frame (the
  earlier one on a tie), so the result has ``min(T, k_prompt + k_uniform)``
  frames unless ``min_gap`` rules frames out;
* the result is in time order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pipeline.errors import ConfigError
from pipeline.types import FloatArray


def prompt_scores(globals_: npt.ArrayLike, queries: npt.ArrayLike) -> FloatArray:
    """Cosine scores (Q, T) of Q normalised query embeddings against T frame embeddings."""
    g = np.asarray(globals_, dtype=np.float32)
    q = np.asarray(queries, dtype=np.float32)
    if g.ndim != 2 or q.ndim != 2 or g.shape[1] != q.shape[1]:
        raise ValueError(f"need (T, D) frames and (Q, D) queries, got {g.shape} and {q.shape}")
    return np.asarray(q @ g.T, dtype=np.float32)


def uniform_indices(T: int, k: int) -> list[int]:
    """k indices spread over T frames: the centre of each of k equal slices."""
    if T <= 0 or k <= 0:
        return []
    if k >= T:
        return list(range(T))
    return sorted({min(T - 1, math.floor((i + 0.5) * T / k)) for i in range(k)})


def select_frames(
    scores: npt.ArrayLike,
    k_prompt: int,
    k_uniform: int,
    *,
    times: Sequence[float] | None = None,
    min_gap: float = 0.0,
) -> list[int]:
    """Indices of the selected frames in time order (see the module rules)."""
    s = _checked_scores(scores)
    _check_counts(k_prompt, k_uniform, min_gap)
    t = _checked_times(times, len(s))
    chosen = _top_frames(s, k_prompt, t, min_gap)
    for target in uniform_indices(len(s), k_uniform):
        pick = _nearest_free(target, chosen, t, min_gap)
        if pick is not None:
            chosen.append(pick)
    return sorted(chosen, key=lambda i: (t[i], i))


def _checked_scores(scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be one-dimensional, got shape {s.shape}")
    return np.where(np.isnan(s), -np.inf, s)


def _check_counts(k_prompt: int, k_uniform: int, min_gap: float) -> None:
    if k_prompt < 0:
        raise ConfigError("k_prompt", k_prompt, "a whole number >= 0")
    if k_uniform < 0:
        raise ConfigError("k_uniform", k_uniform, "a whole number >= 0")
    if not (min_gap >= 0.0 and math.isfinite(min_gap)):
        raise ConfigError("min_gap", min_gap, "a finite number of seconds >= 0")


def _checked_times(times: Sequence[float] | None, n: int) -> list[float]:
    if times is None:
        return [float(i) for i in range(n)]
    if len(times) != n:
        raise ValueError(f"times has {len(times)} entries for {n} scores")
    return [float(x) for x in times]


def _too_close(i: int, chosen: list[int], t: list[float], min_gap: float) -> bool:
    return any(i == j or abs(t[i] - t[j]) < min_gap for j in chosen)


def _top_frames(s: npt.NDArray[np.float64], k: int, t: list[float], min_gap: float) -> list[int]:
    chosen: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        if len(chosen) == k:
            break
        if not _too_close(int(i), chosen, t, min_gap):
            chosen.append(int(i))
    return chosen


def _nearest_free(target: int, chosen: list[int], t: list[float], min_gap: float) -> int | None:
    for i in sorted(range(len(t)), key=lambda j: (abs(j - target), j)):
        if not _too_close(i, chosen, t, min_gap):
            return i
    return None

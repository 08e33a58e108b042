"""Per-window perception: score every due question at once, then pick frames and boxes.

The window's global embeddings are stacked once and all questions are scored in a
single matrix product; temporal selection and the RoI estimate then run per
question on the frames it selected. Works on numpy only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.errors import ConfigError
from pipeline.framememo import FrameMemo
from pipeline.roi import (
    DEFAULT_ESTIMATOR,
    DEFAULT_SMOOTH,
    DEFAULT_TEMPERATURE,
    check_alpha,
    check_estimator,
    check_smooth,
    check_temperature,
    estimate_roi,
    similarity_map,
)
from pipeline.selection import prompt_scores, select_frames
from pipeline.types import EncodedFrame, FloatArray, RoI


@dataclass(frozen=True)
class SelectionConfig:
    """How one question picks frames and regions (validated on creation): the
    ``k_prompt`` frames that match it best plus ``k_uniform`` spread over the window, at
    least ``min_gap`` s apart; on each, a box of ``alpha`` of the patch grid around the
    centre ``estimator`` finds (``temperature``, ``smooth``: see :mod:`pipeline.roi`)."""

    k_prompt: int = 3
    k_uniform: int = 3
    min_gap: float = 0.0
    alpha: float = 0.6
    estimator: str = DEFAULT_ESTIMATOR
    temperature: float = DEFAULT_TEMPERATURE
    smooth: int = DEFAULT_SMOOTH

    def __post_init__(self) -> None:
        _check_count("k_prompt", self.k_prompt)
        _check_count("k_uniform", self.k_uniform)
        if not (isinstance(self.min_gap, int | float) and 0 <= self.min_gap < math.inf):
            raise ConfigError("min_gap", self.min_gap, "a finite number of seconds >= 0")
        check_alpha(self.alpha)
        check_estimator(self.estimator)
        check_temperature(self.temperature)
        check_smooth(self.smooth)

    def with_overrides(self, overrides: Mapping[str, Any]) -> SelectionConfig:
        """A copy with some fields replaced; unknown keys are a ConfigError."""
        known = {f.name for f in dataclasses.fields(self)}
        for key in overrides:
            if key not in known:
                raise ConfigError("selection setting", key, f"one of {', '.join(sorted(known))}")
        return dataclasses.replace(self, **dict(overrides))


def split_settings(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a query's settings into (selection overrides, answerer settings)."""
    names = {f.name for f in dataclasses.fields(SelectionConfig)}
    chosen = {k: v for k, v in settings.items() if k in names}
    return chosen, {k: v for k, v in settings.items() if k not in names}


@dataclass(frozen=True)
class Selection:
    """The frames and boxes one question looks at in one window."""

    query_id: str
    indices: tuple[int, ...]
    times: tuple[float, ...]
    frame_scores: tuple[float, ...]
    all_scores: FloatArray
    rois: tuple[RoI, ...]

    @property
    def visual_tokens(self) -> int:
        """Tokens the boxes keep on the CLIP grid, summed over the selected frames."""
        return sum(r.tokens for r in self.rois)


def select_for_queries(
    window: Sequence[EncodedFrame],
    query_ids: Sequence[str],
    query_embs: npt.ArrayLike,
    config: SelectionConfig,
    overrides: Mapping[str, SelectionConfig] | None = None,
    *,
    rois: FrameMemo[RoI] | None = None,
) -> list[Selection]:
    """One Selection per query; ``overrides`` maps a query id to its own config; ``rois``
    keeps each (frame, question text, config)'s RoI for the next windows over the frame."""
    embs = np.asarray(query_embs, dtype=np.float32).reshape(len(query_ids), -1)
    scores = _score_window(window, embs)
    chosen = overrides or {}
    return [
        _select_one(window, qid, embs[i], scores[i], chosen.get(qid, config), rois)
        for i, qid in enumerate(query_ids)
    ]


def _score_window(window: Sequence[EncodedFrame], embs: FloatArray) -> FloatArray:
    if not window:
        return np.zeros((len(embs), 0), dtype=np.float32)
    globals_ = np.stack([f.global_emb for f in window]).astype(np.float32, copy=False)
    return prompt_scores(globals_, embs)


def _select_one(
    window: Sequence[EncodedFrame],
    query_id: str,
    emb: FloatArray,
    scores: FloatArray,
    config: SelectionConfig,
    rois: FrameMemo[RoI] | None = None,
) -> Selection:
    times = [f.t for f in window]
    picked = select_frames(
        scores, config.k_prompt, config.k_uniform, times=times, min_gap=config.min_gap
    )
    return Selection(
        query_id=query_id,
        indices=tuple(picked),
        times=tuple(times[i] for i in picked),
        frame_scores=tuple(float(scores[i]) for i in picked),
        all_scores=scores,
        rois=tuple(_roi(window[i], emb, config, rois) for i in picked),
    )


def _roi(frame: EncodedFrame, emb: FloatArray, config: SelectionConfig,
         memo: FrameMemo[RoI] | None) -> RoI:
    if memo is None:
        return _frame_roi(frame, emb, config)
    # keyed by the question's embedding: one RoI per text, whichever query asks it
    return memo.get(frame, (emb.tobytes(), config), lambda: _frame_roi(frame, emb, config))


def _frame_roi(frame: EncodedFrame, emb: FloatArray, config: SelectionConfig) -> RoI:
    sim = similarity_map(frame.patches, emb)
    return estimate_roi(
        sim,
        config.alpha,
        config.estimator,
        temperature=config.temperature,
        smooth=config.smooth,
    )


def _check_count(name: str, value: int) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        raise ConfigError(name, value, "a whole number >= 0")

"""The ``clip`` answerer: a cheap yes/no from CLIP scores, made for alerting.

Two modes, both scored on the frames selection picked (the best frame counts):

* ``threshold``: score = the frame's cosine with the question; matched when it
  reaches ``threshold``. Suits CLIPs trained with a per-caption sigmoid loss
  (such as the bundled shapes-demo), whose cosines are calibrated per caption.
* ``margin``: score = softmax over [question, background prompts] of the
  frame's cosines times ``logit_scale``, i.e. the probability that the question
  describes the frame better than an empty scene; matched when ≥ ``threshold``.

Without an explicit ``threshold`` the model's own calibration is used when it ships
one (``feedwatch_calibration.json`` next to its weights, written by
:mod:`pipeline.models.calibrate`), else 0.2. The 0.2 default was measured on an earlier
shapes-demo: on 60
scripted 10-frame windows (object visible 3 of 10 s; negatives ask for a caption
absent from the scene) it answered yes on 97% of positive windows with 23% false
alarms (best balanced threshold 0.199); on 80 random scenes 80% (easy) / 92% (hard)
with 19–33% false alarms. ``margin`` does not work for shapes-demo (its background
prompts lie outside the 21 captions it was trained on) but suits a real CLIP.

The visual token count is what the selection would feed an answerer: the
RoI tokens on the CLIP grid, summed over the selected frames.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from pipeline.answerers.base import (
    Answerer,
    AnswererSettings,
    AnswerResult,
    TextEncoder,
    register,
)
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, FloatArray, StandingQuery

DEFAULT_BACKGROUNDS = ("an empty scene", "a background", "nothing in particular")
DEFAULT_THRESHOLDS = {"threshold": 0.2, "margin": 0.5}


class ClipSettings(AnswererSettings):
    """Settings of the ``clip`` answerer."""

    mode: Literal["threshold", "margin"] = "threshold"
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    background_prompts: tuple[str, ...] = Field(default=DEFAULT_BACKGROUNDS, min_length=1)
    logit_scale: float = Field(default=100.0, gt=0.0)

    @property
    def effective_threshold(self) -> float:
        """The given threshold, else the mode's default."""
        return DEFAULT_THRESHOLDS[self.mode] if self.threshold is None else self.threshold


@register
class ClipAnswerer(Answerer):
    """Yes/no by CLIP score on the selected frames."""

    type: ClassVar[str] = "clip"
    config_cls: ClassVar[builtins.type[AnswererSettings]] = ClipSettings

    def __init__(self, settings: ClipSettings, encoder: TextEncoder) -> None:
        self.settings = settings
        self._encoder = encoder
        self._backgrounds: FloatArray | None = None

    @classmethod
    def build(cls, config: Any, *, encoder: TextEncoder, vlm_spec: str = "") -> ClipAnswerer:
        return cls(config, encoder)

    def answer(
        self,
        query: StandingQuery,
        window: Sequence[EncodedFrame],
        selection: Selection,
        query_emb: np.ndarray[Any, Any],
    ) -> AnswerResult:
        score = self._score(window, selection, np.asarray(query_emb, dtype=np.float32))
        matched = None if score is None else score >= self.threshold
        return AnswerResult(
            text={True: "yes", False: "no", None: "unknown"}[matched],
            matched=matched,
            score=score,
            visual_tokens=selection.visual_tokens,
            model_ids={"clip": self._encoder.model_id},
        )

    @property
    def threshold(self) -> float:
        """The given threshold; else the model's shipped calibration; else the mode's default."""
        if self.settings.threshold is not None:
            return self.settings.threshold
        calibration = getattr(self._encoder, "calibration", None) or {}
        calibrated = (
            calibration.get(f"{self.settings.mode}_threshold")
            if self.settings.mode == "margin"
            else calibration.get("clip_threshold")
        )
        return float(calibrated) if calibrated is not None else self.settings.effective_threshold

    def _score(
        self, window: Sequence[EncodedFrame], selection: Selection, query_emb: FloatArray
    ) -> float | None:
        if not selection.indices:
            return None
        if self.settings.mode == "threshold":
            return float(max(selection.frame_scores))
        frames = np.stack([window[i].global_emb for i in selection.indices])
        return float(self.margin_probabilities(frames, query_emb).max())

    def margin_probabilities(self, frames: FloatArray, query_emb: FloatArray) -> FloatArray:
        """Per frame, softmax probability of the question against the background prompts."""
        prompts = np.vstack([query_emb[None, :], self._background_embs()])
        logits = self.settings.logit_scale * (frames @ prompts.T)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return np.asarray(probs[:, 0] / probs.sum(axis=1), dtype=np.float32)

    def _background_embs(self) -> FloatArray:
        if self._backgrounds is None:
            self._backgrounds = self._encoder.encode_text(list(self.settings.background_prompts))
        return self._backgrounds

"""The clip answerer over a fake text encoder, answering one-frame windows of a given score:
shared by the tests of its store-backed baselines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from connectors.store.feedback import StoreStates
from pipeline.answerers import build_answerer
from pipeline.perception import Selection
from pipeline.types import Answer, EncodedFrame, RoI, StandingQuery

D = 4
QUESTION = np.array([1.0, 0.0, 0.0, 0.0], np.float32)


class _Enc:
    """The question along the first axis; its alternatives nearly orthogonal to every frame
    (cosines within ±0.1), so a frame's score is also its zero-shot support."""

    model_id = "fake"
    grid = (1, 1)
    calibration = {"adaptive_floor": 0.05}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        out = np.zeros((len(texts), D), np.float32)
        out[:, 1] = rng.uniform(-0.1, 0.1, len(texts))
        out[:, 2] = np.sqrt(1.0 - out[:, 1] ** 2)
        return out


def answer(answerer: Any, t: float, score: float) -> Answer:
    """Query ``q`` on camera ``cam``: one frame at ``t`` whose best cell scored ``score``."""
    emb = np.array([score, np.sqrt(1.0 - score**2), 0.0, 0.0], np.float32)
    frame = EncodedFrame("cam", t, emb, np.zeros((1, 1, D), np.float32),
                         np.zeros((2, 2, 3), np.uint8), (2, 2))
    sel = Selection("q", (0,), (t,), (score,), np.array([score], np.float32), (RoI.full(1, 1),))
    result: Answer = answerer.answer(StandingQuery("q", "a red circle"), [frame], sel, QUESTION)
    return result


def clip(states: StoreStates) -> Any:
    """A clip answerer keeping its baselines in ``states``."""
    answerer = build_answerer("clip", {}, encoder=_Enc())
    answerer.use_states(states)  # type: ignore[attr-defined]
    return answerer


def window_scores(seed: int, n: int = 120) -> list[float]:
    """Window scores where the object comes and goes (every third run of 15 windows)."""
    rng = np.random.default_rng(seed)
    base = np.where((np.arange(n) // 15) % 3 == 2, 0.18, -0.1)
    return list(base + rng.normal(0, 0.04, n))

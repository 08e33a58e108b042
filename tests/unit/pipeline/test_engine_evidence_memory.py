"""The engine's evidence cache keeps nothing for frames the buffers have dropped."""

from __future__ import annotations

import gc

import numpy as np

from pipeline.answerers import build_answerer
from pipeline.engine import Engine, encode_frames
from pipeline.scheduler import Due
from pipeline.testing import ColourEncoder
from pipeline.types import Frame, StandingQuery

Q = StandingQuery("q", "a red circle", ("cam",), 1.0, 4.0, "clip", {"threshold": 0.3})


def _window(encoder: ColourEncoder, start: int) -> list:  # type: ignore[type-arg]
    frames = []
    for t in range(start, start + 4):
        rgb = np.full((48, 64, 3), 90, np.uint8)
        rgb[10:22, 30:46] = (230, 20, 20)
        frames.append(Frame("cam", float(t), rgb))
    return encode_frames(encoder, frames)


def test_rendered_evidence_goes_with_the_frames() -> None:
    encoder = ColourEncoder()
    engine = Engine(encoder, lambda t, s: build_answerer(t, s, encoder=encoder))
    for start in range(0, 80, 4):  # 20 windows, each frame dropped once answered
        window = _window(encoder, start)
        (answer,) = engine.evaluate(Due("cam", start, start + 4.0, (Q,)), window)
        assert answer.evidence
        del window
        gc.collect()
    assert len(engine._rendered) <= 4  # only the last window's frames can still be cached

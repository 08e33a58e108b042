"""A long segment (one 10-s GOP) answers every window over it, each with its frames."""

from __future__ import annotations

import numpy as np

from pipeline.engine import Engine
from pipeline.perceiver import AnswererCache, Perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Frame, Segment, StandingQuery


def _decode(segment: Segment, fps: float) -> list[Frame]:
    """One red-ish frame per 1/fps second of the segment (no video codec needed)."""
    n = round(segment.duration * fps)
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[..., 0] = 200
    return [Frame(segment.camera, segment.start + i / fps, rgb, segment.seq) for i in range(n)]


def _perceiver() -> Perceiver:
    encoder = ColourEncoder()
    query = StandingQuery("q", "a red circle", ("*",), every=1.0, window=4.0)
    engine = Engine(encoder, AnswererCache(encoder), SelectionConfig(k_prompt=3, k_uniform=3))
    return Perceiver(encoder, engine, Scheduler([query]), _decode, sample_fps=1.0)


def test_ten_second_segments_answer_every_window_with_its_frames() -> None:
    perceiver = _perceiver()
    answers = []
    for seq in range(4):
        segment = Segment("cam", seq, seq * 10.0, 10.0, b"x")
        answers += perceiver.on_segment(segment)
    assert [a.window_end for a in answers] == [float(e) for e in range(1, 41)]
    for a in answers[3:]:
        assert len(a.frames) >= 3
        assert all(a.window_start <= t < a.window_end for t in a.frames)
    assert perceiver.scheduler.skipped.total() == 0

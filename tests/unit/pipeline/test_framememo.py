"""Per-frame memo: each (frame, question)'s RoI is worked out once while the frame is
buffered, anew for another text of the question, and nothing is kept for dropped frames."""

from __future__ import annotations

import gc
from dataclasses import replace

import numpy as np

from pipeline import perception
from pipeline.answerers import build_answerer
from pipeline.engine import Engine, encode_frames
from pipeline.framememo import FrameMemo
from pipeline.scheduler import Due
from pipeline.testing import ColourEncoder
from pipeline.types import Frame, StandingQuery

Q = StandingQuery("q", "a red circle", ("cam",), 1.0, 4.0, "clip", {"threshold": 0.3})


def _frames(encoder: ColourEncoder, times: range) -> list:  # type: ignore[type-arg]
    out = []
    for t in times:
        rgb = np.full((48, 64, 3), 90, np.uint8)
        rgb[10:22, 30 - t % 8:46 - t % 8] = (230, 20, 20)
        out.append(Frame("cam", float(t), rgb))
    return encode_frames(encoder, out)


def test_sliding_windows_work_out_each_frames_roi_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    made: list[float] = []
    real = perception._frame_roi
    monkeypatch.setattr(perception, "_frame_roi",
                        lambda f, e, c: made.append(f.t) or real(f, e, c))
    encoder = ColourEncoder()
    engine = Engine(encoder, lambda t, s: build_answerer(t, s, encoder=encoder))
    uncached = Engine(encoder, lambda t, s: build_answerer(t, s, encoder=encoder),
                      selector=perception.select_for_queries)
    frames = _frames(encoder, range(12))
    cached, plain = [], []
    for end in range(4, 13):  # windows of 4 frames, one step apart: each frame in up to 4
        window, due = frames[end - 4:end], Due("cam", end - 4.0, float(end), (Q,))
        cached += engine.evaluate(due, window)
    once = list(made)
    for end in range(4, 13):
        plain += uncached.evaluate(Due("cam", end - 4.0, float(end), (Q,)), frames[end - 4:end])
    assert [(a.frames, a.rois, a.matched, a.evidence) for a in cached] == [
        (a.frames, a.rois, a.matched, a.evidence) for a in plain]  # the same answers
    assert sorted(once) == sorted(set(once))  # each frame's RoI worked out once
    assert len(made) - len(once) > len(once)  # where the windows without it did it again
    made.clear()
    for end in range(4, 13):
        engine.evaluate(Due("cam", end - 4.0, float(end), (Q,)), frames[end - 4:end])
    assert made == []  # every RoI of these frames was already known
    other = replace(Q, question="a blue square", version=2)
    engine.evaluate(Due("cam", 8.0, 12.0, (other,)), frames[8:12])
    assert made  # another text of the question: its RoIs are worked out anew


def test_the_memo_keeps_nothing_for_frames_that_are_gone() -> None:
    encoder = ColourEncoder()
    memo: FrameMemo[int] = FrameMemo(cap=100)
    frames = _frames(encoder, range(6))
    for f in frames:
        assert memo.get(f, "k", lambda: 1) == 1
    assert memo.get(frames[0], "k", lambda: 2) == 1  # kept
    del frames[:5]
    gc.collect()
    memo.get(frames[0], "other", lambda: 3)
    assert len(memo) == 2  # the five dropped frames' entries went


def test_the_memo_is_capped_oldest_first() -> None:
    encoder = ColourEncoder()
    memo: FrameMemo[int] = FrameMemo(cap=3)
    frames = _frames(encoder, range(5))
    for i, f in enumerate(frames):
        memo.get(f, "k", lambda i=i: i)
    assert len(memo) == 3
    assert memo.get(frames[0], "k", lambda: -1) == -1  # the oldest was dropped
    assert memo.get(frames[4], "k", lambda: -1) == 4

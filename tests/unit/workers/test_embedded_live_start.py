"""The embedded run over real video whose stream clock starts mid-second, as a live
camera's (wall clock) does: every window the scheduler makes due is answered, the
first one too — it is clipped to the stream's start and holds its first frames."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors import video
from connectors.store import AnswerSink, Store
from connectors.video.testing import make_clip
from pipeline.perceiver import AnswererCache, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Answer, Segment, StandingQuery
from workers.bench.e2e import expected_answers
from workers.perception.embedded import CameraSource, EmbeddedRun

QUERY = StandingQuery("q-live", "a red circle", ("cam",), 1.0, 2.0, "clip", {"threshold": 0.3})


@pytest.fixture(scope="module")
def live_segments(tmp_path_factory: pytest.TempPathFactory) -> list[Segment]:
    """4 s at 10 fps in 2-s segments, on a clock that starts at 100.7 (a live origin)."""
    clip = make_clip(tmp_path_factory.mktemp("live") / "c.mp4", seconds=4.0, fps=10)
    segs = list(video.segments(str(clip), "cam"))
    return [dataclasses.replace(s, start=s.start + 100.7) for s in segs]


@pytest.mark.parametrize("sample_fps", [2.0, 1.0])
def test_the_window_at_a_live_streams_start_is_answered(
    live_segments: list[Segment], tmp_path: Path, sample_fps: float
) -> None:
    def segments(uri: str, camera: str, **_: Any) -> Iterator[Segment]:
        return iter(live_segments)

    enc = ColourEncoder()
    perceiver = build_perceiver(enc, AnswererCache(enc), SelectionConfig(), Scheduler(),
                                video.decode_segment, sample_fps)
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    answers: list[Answer] = []
    run = EmbeddedRun([CameraSource("cam", "clip.mp4")], [QUERY], perceiver,
                      AnswerSink(store), segments=segments, on_answer=answers.append)
    run.run()
    store.close()
    spans = {"cam": [(s.start, s.end) for s in live_segments]}
    assert len(answers) == expected_answers([QUERY], spans) == 4  # ends 101, 102, 103, 104
    first = min(answers, key=lambda a: a.window_end)
    assert (first.window_start, first.window_end) == pytest.approx((100.7, 101.0))
    assert first.frames and all(100.7 <= t < 101.0 for t in first.frames)

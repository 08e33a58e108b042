"""Every due window around an outage is answered or skipped with its reason, never lost."""

from __future__ import annotations

import numpy as np

from pipeline.engine import Engine
from pipeline.perceiver import AnswererCache, Perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.skips import Skip, SkipLog
from pipeline.testing import ColourEncoder
from pipeline.types import Frame, Segment, StandingQuery

STALL = (12.0, 20.0)  # no frame decoded in there (segment seq 5 only)


def _decode(segment: Segment, fps: float) -> list[Frame]:
    """Frames every 1/fps s from start + 0.5 (a live camera's frames fall between whole
    seconds); segment 5 stalls inside."""
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[..., 0] = 200
    times = [t for i in range(int(segment.duration * fps) + 1)
             if (t := segment.start + 0.5 + i / fps) < segment.end]
    if segment.seq == 5:
        times = [t for t in times if not STALL[0] <= t < STALL[1]]
    return [Frame(segment.camera, t, rgb, segment.seq) for t in times]


def _run(segments: list[Segment]) -> tuple[list[float], Perceiver]:
    encoder = ColourEncoder()
    query = StandingQuery("q", "a red circle", ("*",), every=1.0, window=1.0)
    engine = Engine(encoder, AnswererCache(encoder), SelectionConfig())
    perceiver = Perceiver(encoder, engine, Scheduler([query]), _decode, sample_fps=1.0)
    ends = [a.window_end for s in segments for a in perceiver.on_segment(s)]
    return ends, perceiver


def test_a_reconnect_skips_the_edge_windows_with_the_hole(caplog) -> None:
    """The last segment is cut at 22.3 (its last frame at 21.5), the stream resumes at
    33.7 (first frame at 34.2): [22, 23) and [33, 34) have stream data but no frame."""
    segments = [Segment("cam", i, 2.0 * i, 2.0, b"") for i in range(11)]
    segments += [Segment("cam", 11, 22.0, 0.3, b"")]
    segments += [Segment("cam", 12 + i, 33.7 + 2.0 * i, 2.0, b"") for i in range(5)]
    with caplog.at_level("WARNING", logger="pipeline.skips"):
        ends, perceiver = _run(segments)
    assert ends == [float(e) for e in [*range(1, 23), *range(35, 44)]]
    assert perceiver.scheduler.skipped["gap"] == 12  # 23..34: 43 due = 31 + 12
    assert perceiver.stats.skipped == {"gap": 12}
    assert [r.getMessage() for r in caplog.records] == [  # one line for the hole
        "camera cam: skipped 12 window(s) of query q ending 23.000..34.000 "
        "(gap: no frame of the stream inside them)"]


def test_a_stall_inside_one_segment_skips_its_empty_windows() -> None:
    segments = [Segment("cam", i, 2.0 * i, 2.0, b"") for i in range(5)]
    segments += [Segment("cam", 5, 10.0, 12.0, b"")]  # frames stop from 12 to 20
    segments += [Segment("cam", 6 + i, 22.0 + 2.0 * i, 2.0, b"") for i in range(3)]
    ends, perceiver = _run(segments)
    assert len(ends) == 20 and not {13.0, 20.0} & set(ends)
    assert perceiver.scheduler.skipped["gap"] == 8  # 28 due = 20 + 8
    assert perceiver.stats.skipped == {"gap": 8}


def test_windows_finer_than_the_sampling_are_skipped_as_sparse_not_gap() -> None:
    encoder = ColourEncoder()
    query = StandingQuery("q", "a red circle", ("*",), every=0.5, window=0.5)
    engine = Engine(encoder, AnswererCache(encoder), SelectionConfig())
    perceiver = Perceiver(encoder, engine, Scheduler([query]), _decode, sample_fps=1.0)
    ends = [a.window_end for i in range(3) for a in perceiver.on_segment(
        Segment("cam", i, 2.0 * i, 2.0, b""))]
    assert ends == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # [k + 0.5, k + 1) holds the frame
    assert perceiver.stats.skipped == {"sparse": 6}


def test_one_log_line_per_hole_whatever_the_number_of_queries(caplog) -> None:
    """Every query on a camera loses the hole's windows: the records stay one per query,
    the log says it once for the camera."""
    skips = SkipLog()
    for q in ("a", "b", "c"):
        skips.add(Skip("cam", q, "gap", 23.0, 34.0, 12), every=1.0)
    with caplog.at_level("WARNING", logger="pipeline.skips"):
        records = skips.take()
    assert len(records) == 3 and skips.counts["gap"] == 36
    assert [r.getMessage() for r in caplog.records] == [
        "camera cam: skipped 36 window(s) of 3 queries ending 23.000..34.000 "
        "(gap: no frame of the stream inside them)"]

"""Segment boundaries: keyframe-only cuts, target duration, size splits, standalone decode."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import av
import pytest
from av.video.frame import PictureType

from connectors.video.segmenter import Cutter, Segmenter, ts_size_estimate
from connectors.video.settings import VideoSettings
from connectors.video.sources import open_source
from connectors.video.testing import make_clip
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class P:
    t: float
    keyframe: bool
    size: int = 1000
    duration: float = 0.04


def stream(seconds: float, kf_every: float, fps: int = 25, size: int = 1000) -> list[P]:
    n, gop = round(seconds * fps), round(kf_every * fps)
    return [P(i / fps, i % gop == 0, size) for i in range(n)]


def cut(packets: list[P], **kw) -> list[tuple[float, float, int]]:
    """(start, duration, packets) of every segment, end of stream included."""
    c: Cutter[P] = Cutter(**kw)
    groups = [g for p in packets for g in c.push(p)] + c.drain()
    return [(round(g[0].t, 3), round(d, 3), len(g)) for g, d in groups]


def test_cuts_at_target_when_keyframes_are_frequent() -> None:
    assert cut(stream(6, 1.0), target=2.0) == [(0.0, 2.0, 50), (2.0, 2.0, 50), (4.0, 2.0, 50)]


def test_cuts_only_at_keyframes_first_one_past_target() -> None:
    got = cut(stream(4.8, 0.8), target=2.0)
    assert [s for s, _, _ in got] == [0.0, 2.4]
    assert got[0][1] == 2.4


def test_long_keyframe_interval_follows_keyframes_and_logs_once(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.video.segmenter"):
        got = cut(stream(9, 3.0), target=2.0, camera="cam7")
    assert [(s, d) for s, d, _ in got] == [(0.0, 3.0), (3.0, 3.0), (6.0, 3.0)]
    warnings = [r.getMessage() for r in caplog.records if "keyframe interval" in r.getMessage()]
    assert len(warnings) == 1 and "cam7" in warnings[0] and "3.00s" in warnings[0]


def test_packets_before_the_first_keyframe_are_dropped() -> None:
    packets = [P(0.0, False), P(0.04, False)] + [P(0.08 + i / 25, i % 25 == 0) for i in range(50)]
    c: Cutter[P] = Cutter(target=1.0)
    groups = [g for p in packets for g in c.push(p)] + c.drain()
    assert c.dropped == 2
    assert all(g[0].keyframe for g, _ in groups)
    assert groups[0][0][0].t == 0.08


def test_max_size_splits_at_keyframes_before_the_limit() -> None:
    packets = stream(4.8, 0.4, size=5000)  # 0.4 s GOPs of ~53 KB (TS overhead included)
    gop_bytes = ts_size_estimate(packets[:10], 0.4)
    got = cut(packets, target=2.0, max_bytes=int(gop_bytes * 2.5))
    assert [d for _, d, _ in got] == [0.8] * 6  # two GOPs fit, three do not
    assert all(round(s / 0.4, 6).is_integer() for s, _, _ in got)


def test_bad_target_and_size_name_the_field() -> None:
    with pytest.raises(ConfigError, match="segment_seconds"):
        Cutter(target=0)
    with pytest.raises(ConfigError, match="max_segment_bytes"):
        Cutter(max_bytes=-1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    return make_clip(tmp_path_factory.mktemp("seg") / "c.mp4", seconds=5.0, fps=25,
                     keyframe_interval_s=1.0, bframes=2)


def segments_of(clip, settings: VideoSettings | None = None):
    with open_source(str(clip), "cam") as src:
        return list(Segmenter.from_config("cam", settings, start_seq=7).run(src))


def decoded(seg):
    with av.open(io.BytesIO(seg.data), format="mpegts") as c:
        return list(c.decode(c.streams.video[0]))


def test_real_clip_segments_are_numbered_keyframe_aligned_and_standalone(clip) -> None:
    segs = segments_of(clip)
    assert [s.seq for s in segs] == [7, 8, 9]
    assert [(s.start, s.duration) for s in segs] == [(0.0, 2.0), (2.0, 2.0), (4.0, 1.0)]
    kinds = {(s.container, s.codec, s.width, s.height) for s in segs}
    assert kinds == {("mpegts", "h264", 320, 240)}
    for seg in segs:
        frames = decoded(seg)
        assert frames[0].key_frame and frames[0].pict_type == PictureType.I
        assert len(frames) == round(seg.duration * 25)  # nothing lost, nothing borrowed


def test_real_clip_max_size_gives_smaller_segments_that_still_decode(clip) -> None:
    whole = segments_of(clip)
    limit = max(len(s.data) for s in whole) * 3 // 4
    small = segments_of(clip, VideoSettings(max_segment_bytes=limit))
    assert len(small) > len(whole)
    assert all(len(s.data) <= limit for s in small)
    assert sum(s.duration for s in small) == pytest.approx(sum(s.duration for s in whole))
    assert all(decoded(s)[0].key_frame for s in small)

"""Segment boundaries: target-length cuts (mid-GOP with a carried prefix, or at
keyframes), size splits, and real segments that decode on their own."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import av
import pytest
from av.video.frame import PictureType

from connectors.video.cutter import Cutter, ts_size_estimate
from connectors.video.decoder import decode_segment
from connectors.video.segmenter import Segmenter
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


def cuts(packets: list[P], **kw):  # type: ignore[no-untyped-def]
    c: Cutter[P] = Cutter(**kw)
    return [g for p in packets for g in c.push(p)] + c.drain()


def cut(packets: list[P], **kw) -> list[tuple[float, float, int]]:
    """(start, duration, own packets) of every segment, end of stream included."""
    return [(round(c.start, 3), round(c.duration, 3), len(c.packets) - c.own)
            for c in cuts(packets, **kw)]


def test_cuts_at_target_when_keyframes_are_frequent() -> None:
    got = cuts(stream(6, 1.0), target=2.0)
    assert [(round(c.start, 3), round(c.duration, 3)) for c in got] == [(0, 2), (2, 2), (4, 2)]
    assert all(c.own == 0 and c.lead == 0.0 for c in got)  # every cut lands on a keyframe


def test_keyframe_mode_cuts_only_at_keyframes_first_one_past_target() -> None:
    got = cut(stream(4.8, 0.8), target=2.0, mid_gop=False)
    assert [s for s, _, _ in got] == [0.0, 2.4]
    assert got[0][1] == 2.4


def test_long_gop_is_cut_at_the_target_and_carries_the_packets_since_the_keyframe() -> None:
    got = cuts(stream(20, 10.0), target=2.0)
    assert [(round(c.start, 3), round(c.duration, 3)) for c in got] == [
        (float(t), 2.0) for t in range(0, 20, 2)]
    assert [round(c.lead, 3) for c in got] == [0, 2, 4, 6, 8] * 2
    for c in got:
        assert c.packets[0].keyframe  # decodable alone
        assert len(c.packets) - c.own == 50  # own: 2 s at 25 fps
        assert [p.t for p in c.packets] == sorted(p.t for p in c.packets)


def test_keyframe_mode_follows_long_gops_and_logs_once(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.video.cutter"):
        got = cut(stream(9, 3.0), target=2.0, camera="cam7", mid_gop=False)
    assert [(s, d) for s, d, _ in got] == [(0.0, 3.0), (3.0, 3.0), (6.0, 3.0)]
    warnings = [r.getMessage() for r in caplog.records if "keyframe interval" in r.getMessage()]
    assert len(warnings) == 1 and "cam7" in warnings[0] and "3.00s" in warnings[0]


def test_b_frames_are_cut_only_where_no_frame_crosses_the_cut() -> None:
    # decode order of I P B B P B B ...: the B-frames show before the P that precedes them
    order = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11]
    packets = [P(i * 0.25, i == 0, duration=0.25) for i in order]
    got = cuts(packets, target=1.0)
    for c in got:
        own = [p.t for p in c.packets[c.own:]]
        assert min(own) >= c.start and all(p.t < c.start for p in c.packets[: c.own])
    assert [round(c.start, 3) for c in got] == [0.0, 1.0, 2.5]
    assert all(a.start + a.duration == b.start for a, b in zip(got, got[1:], strict=False))


def test_packets_before_the_first_keyframe_are_dropped() -> None:
    packets = [P(0.0, False), P(0.04, False)] + [P(0.08 + i / 25, i % 25 == 0) for i in range(50)]
    c: Cutter[P] = Cutter(target=1.0)
    groups = [g for p in packets for g in c.push(p)] + c.drain()
    assert c.dropped == 2
    assert all(g.packets[0].keyframe for g in groups)
    assert groups[0].start == 0.08


def test_a_new_connection_resuming_mid_gop_waits_for_its_own_keyframe() -> None:
    """Its first packets joined the closed connection's GOP, and the segment muxed on
    that connection's closed stream ended the camera."""
    c: Cutter[P] = Cutter(target=1.0)
    first = [g for p in stream(5.2, kf_every=24.0) for g in c.push(p)] + c.drain()
    assert first and c.dropped == 0
    resumed = [P(7.2 + i / 25, i == 20) for i in range(60)]  # mid-GOP: a keyframe 0.8 s in
    later = [g for p in resumed for g in c.push(p)] + c.drain()
    assert c.dropped == 20
    assert later and all(g.packets[0].keyframe and g.packets[0].t >= 8.0 for g in later)


def test_max_size_splits_at_keyframes_before_the_limit() -> None:
    packets = stream(4.8, 0.4, size=5000)  # 0.4 s GOPs of ~53 KB (TS overhead included)
    gop_bytes = ts_size_estimate(packets[:10], 0.4)
    got = cut(packets, target=2.0, max_bytes=int(gop_bytes * 2.5), mid_gop=False)
    assert [d for _, d, _ in got] == [0.8] * 6  # two GOPs fit, three do not
    assert all(round(s / 0.4, 6).is_integer() for s, _, _ in got)


def test_max_size_mid_gop_keeps_every_segment_with_its_prefix_under_the_limit() -> None:
    packets = stream(8, 2.0, size=5000)  # a GOP (50 packets) fits in the limit, 60 do not
    limit = ts_size_estimate(packets[:60], 2.4)
    got = cuts(packets, target=8.0, max_bytes=limit)
    assert len(got) == 4 and any(c.own for c in got)
    assert all(ts_size_estimate(c.packets, round(c.duration + c.lead, 6)) <= limit for c in got)
    assert sum(c.duration for c in got) == pytest.approx(8.0)


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
    kinds = {(s.container, s.codec, s.width, s.height, s.lead) for s in segs}
    assert kinds == {("mpegts", "h264", 320, 240, 0.0)}
    for seg in segs:
        frames = decoded(seg)
        assert frames[0].key_frame and frames[0].pict_type == PictureType.I
        assert len(frames) == round(seg.duration * 25)  # nothing lost, nothing borrowed


def test_real_long_gop_segments_decode_alone_from_their_own_start(tmp_path) -> None:
    long_gop = make_clip(tmp_path / "gop.mp4", seconds=8.0, fps=25, keyframe_interval_s=8.0,
                         bframes=2)
    segs = segments_of(long_gop)
    assert len(segs) == 4 and segs[0].lead == 0.0
    for seg, after in zip(segs, segs[1:], strict=False):
        assert 2.0 <= seg.duration < 2.2  # the target; B-frames shift a cut by a frame or two
        assert after.start == pytest.approx(seg.end) and after.lead == pytest.approx(after.start)
    sampled = []
    for seg in segs:
        frames = decoded(seg)
        assert frames[0].key_frame  # the carried keyframe
        assert len(frames) == round((seg.lead + seg.duration) * 25)
        sampled += [round(f.t, 3) for f in decode_segment(seg, 1.0)]
    assert sampled == [float(t) for t in range(8)]


def test_real_clip_max_size_gives_smaller_segments_that_still_decode(clip) -> None:
    whole = segments_of(clip)
    limit = max(len(s.data) for s in whole) * 3 // 4
    small = segments_of(clip, VideoSettings(max_segment_bytes=limit))
    assert len(small) > len(whole)
    assert all(len(s.data) <= limit for s in small)
    assert sum(s.duration for s in small) == pytest.approx(sum(s.duration for s in whole))
    assert all(decoded(s)[0].key_frame for s in small)


def test_restamp_orders_b_frames_and_leading_pictures_without_source_dts() -> None:
    from fractions import Fraction

    from connectors.video.segmenter import restamp

    # decode order of an open-GOP HEVC keyframe: the keyframe, then three leading pictures
    # shown before it, then P/B as usual (RTSP gives no DTS for the first packets)
    times = [0.0, -0.25, -0.167, -0.083, 0.333, 0.167, 0.083, 0.25]
    stamps = restamp(times, Fraction(1, 1000))
    pts = [p for p, _ in stamps]
    dts = [d for _, d in stamps]
    assert [b - a for a, b in zip(pts, pts[1:], strict=False)] == [
        round((b - a) * 1000) for a, b in zip(times, times[1:], strict=False)]  # times kept
    assert all(d <= p for p, d in stamps) and min(dts) >= 0
    assert dts == sorted(dts) and len(set(dts)) == len(dts)

"""Timestamp anchoring: file seconds, live wall clock + PTS offset, paced files, jumps."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from connectors.video.packets import Timeline
from connectors.video.sources import open_source
from connectors.video.testing import make_clip

TB = Fraction(1, 90000)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    return make_clip(tmp_path_factory.mktemp("tl") / "c.mp4", seconds=1.0, fps=25,
                     keyframe_interval_s=0.4, bframes=2)


def test_file_anchor_is_zero_and_times_follow_pts() -> None:
    tl = Timeline(TB, anchor=0.0, origin_pts=9000)
    assert tl.at(9000) == 0.0
    assert tl.at(9000 + 3600) == pytest.approx(0.04)
    assert tl.at(9000 + 90000) == pytest.approx(1.0)


def test_live_anchor_is_wall_clock_at_first_packet_plus_pts_offset() -> None:
    clock = iter([1_700_000_000.0, 1_700_000_999.0])
    tl = Timeline(TB, anchor=None, now=lambda: next(clock))
    assert tl.at(123_456) == 1_700_000_000.0
    # later packets use the PTS offset, not the (much later) wall clock
    assert tl.at(123_456 + 45_000) == pytest.approx(1_700_000_000.5)


def test_not_before_keeps_time_increasing_across_reconnects() -> None:
    tl = Timeline(TB, anchor=None, not_before=2_000.0, now=lambda: 1_000.0)
    assert tl.at(5) == 2_000.0


def test_jump_reanchors_so_time_keeps_running_forward() -> None:
    tl = Timeline(TB, anchor=100.0, origin_pts=0, max_jump=10.0)
    assert tl.at(0, 0.04) == 100.0
    assert tl.at(3600, 0.04) == pytest.approx(100.04)
    after_wrap = tl.at(2**33 - 90000, 0.04)  # camera clock jumped by hours
    assert after_wrap == pytest.approx(100.08)
    assert tl.at(2**33 - 90000 + 3600) == pytest.approx(100.12)


def test_missing_pts_continues_from_previous_packet() -> None:
    tl = Timeline(TB, anchor=0.0, origin_pts=0)
    tl.at(0, 0.04)
    assert tl.at(None) == pytest.approx(0.04)


def test_file_source_times_are_seconds_from_start(clip) -> None:
    with open_source(str(clip), "cam") as src:
        assert not src.live
        packets = list(src)
    times = sorted(p.t for p in packets)
    assert times[0] == 0.0
    assert times == pytest.approx([i / 25 for i in range(25)])
    assert [round(p.t, 2) for p in packets if p.keyframe] == [0.0, 0.4, 0.8]


def test_paced_file_behaves_like_a_live_feed(clip) -> None:
    before = time.time()
    with open_source(str(clip), "cam", realtime=True) as src:
        assert src.live
        packets = list(src)
    took = time.time() - before
    first = min(p.t for p in packets)
    assert before <= first <= before + 1.0  # anchored on the wall clock at open
    assert took >= 0.9  # 1 s of video is released in real time
    assert max(p.t for p in packets) - first == pytest.approx(0.96)


def _packet(data: bytes, pts: int | None, key: bool = False, stream=None):
    import av

    p = av.Packet(data)
    if stream is not None:
        p.stream = stream
    p.pts = p.dts = pts
    p.is_keyframe = key
    return p


def test_pieces_of_one_access_unit_are_joined_without_repeated_parameter_sets(clip) -> None:
    import av

    from connectors.video.sources import coalesce

    container = av.open(str(clip))
    h264 = container.streams.video[0]

    sps, pps, idr0, idr1 = b"\x67\x42", b"\x68\xce", b"\x65\x88\x01", b"\x65\x88\x02"
    sc = b"\x00\x00\x00\x01"
    raw = [
        _packet(sc + sps + sc + pps + sc + idr0, None, True, h264),  # start: no timestamp yet
        _packet(sc + sps + sc + pps + sc + idr1, 0, True, h264),  # SPS/PPS repeated mid-frame
        _packet(sc + b"\x41\x9a", 3600),
        _packet(sc + b"\x41\x9b", None),  # later missing stamps stay separate frames
        _packet(sc + b"\x41\x9c", 7200),
        _packet(sc + b"\x41\x9d", 7200),
    ]
    out = list(coalesce(raw))
    assert [(p.pts, p.is_keyframe) for p in out] == [(0, True), (3600, False), (None, False),
                                                      (7200, False)]
    assert bytes(out[0]) == sc + sps + sc + pps + sc + idr0 + sc + idr1  # one frame
    assert bytes(out[3]) == sc + b"\x41\x9c" + sc + b"\x41\x9d"
    container.close()


def test_repeated_parameter_sets_are_dropped_for_h264_and_hevc() -> None:
    from connectors.video.sources import _drop_parameter_sets

    sc = b"\x00\x00\x00\x01"
    h264 = sc + b"\x67\x42" + b"\x00\x00\x01" + b"\x68\xce" + sc + b"\x65\x88"
    assert _drop_parameter_sets(h264, "h264") == sc + b"\x65\x88"
    hevc = sc + b"\x40\x01" + sc + b"\x42\x01" + sc + b"\x44\x01" + sc + b"\x26\x01"
    assert _drop_parameter_sets(hevc, "hevc") == sc + b"\x26\x01"
    assert _drop_parameter_sets(b"\x00\x00\x00\x05\x65", "h264") == b"\x00\x00\x00\x05\x65"

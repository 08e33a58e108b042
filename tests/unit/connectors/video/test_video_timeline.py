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

    from connectors.video.pieces import coalesce

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
    from connectors.video.pieces import _drop_parameter_sets

    sc = b"\x00\x00\x00\x01"
    h264 = sc + b"\x67\x42" + b"\x00\x00\x01" + b"\x68\xce" + sc + b"\x65\x88"
    assert _drop_parameter_sets(h264, "h264") == sc + b"\x65\x88"
    hevc = sc + b"\x40\x01" + sc + b"\x42\x01" + sc + b"\x44\x01" + sc + b"\x26\x01"
    assert _drop_parameter_sets(hevc, "hevc") == sc + b"\x26\x01"
    assert _drop_parameter_sets(b"\x00\x00\x00\x05\x65", "h264") == b"\x00\x00\x00\x05\x65"


def test_decode_order_stepping_back_is_a_discontinuity_whatever_its_size() -> None:
    """A looped or spliced stream (pieces of 0.6 s whose clock restarts) steps back by
    less than MAX_BACKSTEP_S: its DTS says so, and time keeps running forward."""
    tl = Timeline(TB, anchor=0.0, origin_pts=0, max_jump=10.0)
    times = [tl.at(k * 9000, 0.1, dts=k * 9000) for loop in range(3) for k in range(6)]
    assert times == pytest.approx([i * 0.1 for i in range(18)])


def test_a_b_frame_shown_before_a_later_picture_across_a_pause_is_not_a_jump() -> None:
    """Decode order I(0) P(3.0) B(0.1): the B-frame's PTS is 2.9 s back, its DTS on."""
    tl = Timeline(TB, anchor=0.0, origin_pts=0, max_jump=10.0)
    assert tl.at(0, 0.1, dts=-9000) == 0.0
    assert tl.at(270000, 0.1, dts=0) == pytest.approx(3.0)
    assert tl.at(9000, 0.1, dts=9000) == pytest.approx(0.1)  # re-anchored at 3.1 before
    without_dts = Timeline(TB, anchor=0.0, origin_pts=0, max_jump=10.0)
    without_dts.at(0, 0.1)
    without_dts.at(270000, 0.1)
    assert without_dts.at(9000, 0.1) == pytest.approx(3.1)  # no DTS: taken for a jump


def test_a_raw_elementary_stream_is_stamped_one_frame_apart(tmp_path) -> None:
    """A raw H.264 file has no timestamps: each picture is its own packet, one frame
    interval after the previous (they were all joined into one packet before)."""
    raw = make_clip(tmp_path / "c.h264", seconds=2.0, fps=10, keyframe_interval_s=1.0,
                    size=(160, 96), container="h264")
    with open_source(str(raw), "cam") as src:
        times = [tp.t for tp in src]
    assert times == pytest.approx([i / 10 for i in range(20)])


def test_a_jump_is_logged_once_naming_the_camera_and_what_jumped(caplog) -> None:
    """Each re-anchor was logged, as 'timestamp jump at pts N', with no camera: a
    stream that kept jumping filled the log with one line per packet."""
    import logging

    tl = Timeline(TB, anchor=0.0, origin_pts=0, max_jump=10.0, camera="dock")
    wrapped = 2**33 - 90000
    runs = [0, wrapped, 0]  # 12 s each: the clock wraps, then the stream loops back to 0
    with caplog.at_level(logging.INFO, logger="connectors.video.packets"):
        times = [tl.at(start + k * 3600, 0.04, dts=start + k * 3600)
                 for start in runs for k in range(300)]
    assert times == pytest.approx([i * 0.04 for i in range(900)])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines  # one line per jump, none per packet after it
    assert all(line.startswith("camera dock: timestamps jumped by") for line in lines)
    assert f"pts 1076400 -> {wrapped}" in lines[0] and "re-anchored at 12.000" in lines[0]
    assert f"pts {wrapped + 1076400} -> 0" in lines[1]

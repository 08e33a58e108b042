"""Streams as real cameras send them, each from its own ffmpeg-made clip: segmented like a
live feed (remux, or transcode for MJPEG), then sampled at 1 fps. A user would notice a
missing second, a frame twice, a sideways picture or a wrong size."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import pytest

from connectors.video.decoder import decode_segment
from connectors.video.resilience import segments
from connectors.video.sampling import SampleClock
from pipeline.types import Frame, Segment
from tests.services import camera_clips as cc


def run(path: Path) -> tuple[list[Segment], list[Frame]]:
    segs = list(segments(str(path), "cam"))
    return segs, [f for s in segs for f in decode_segment(s, 1.0)]


def seconds(frames: list[Frame]) -> list[int]:
    return [int(f.t + 1e-6) for f in frames]


def standalone(seg: Segment) -> int:
    """Frames in the segment's own bytes (carried prefix included); first is a keyframe."""
    with av.open(io.BytesIO(seg.data), format="mpegts") as c:
        frames = list(c.decode(video=0))
    assert frames and frames[0].key_frame, f"segment {seg.seq} does not start at a keyframe"
    return len(frames)


def test_h264_b_frames_with_irregular_keyframes(tmp_path: Path) -> None:
    clip = cc.h264(tmp_path / "b.mp4", bframes=3, keyframes=[0, 1.2, 3.6, 5.0, 7.4])
    segs, frames = run(clip)
    assert seconds(frames) == list(range(8))  # one sample per second, none twice
    assert all(s.duration <= 2.2 for s in segs)  # never waits for a late keyframe
    for seg in segs:
        assert standalone(seg) == round((seg.lead + seg.duration) * 25)


def test_hevc(tmp_path: Path) -> None:
    if not cc.has_encoder("libx265"):
        pytest.skip("this ffmpeg has no libx265 encoder")
    segs, frames = run(cc.hevc(tmp_path / "h.mp4", gop_s=4.0))
    assert {s.codec for s in segs} == {"hevc"}
    assert seconds(frames) == list(range(8))
    assert frames[0].rgb.shape == (144, 176, 3)
    assert any(s.lead > 0 for s in segs)  # 4-s GOP, 2-s segments: cut mid-GOP
    for seg in segs:
        standalone(seg)


def test_mjpeg_in_avi_is_transcoded_and_sampled(tmp_path: Path) -> None:
    segs, frames = run(cc.mjpeg_avi(tmp_path / "m.avi", seconds=6.0))
    assert {s.codec for s in segs} == {"h264"}
    assert seconds(frames) == list(range(6))
    assert frames[0].rgb.shape == (240, 320, 3)


def test_ten_second_gop_with_aac_audio_cuts_two_second_segments(tmp_path: Path) -> None:
    clip = cc.h264(tmp_path / "a.mp4", seconds=20.0, gop_s=10.0, audio=True)
    segs, frames = run(clip)
    assert [round(s.start, 2) for s in segs] == [float(t) for t in range(0, 20, 2)]
    assert [round(s.lead, 2) for s in segs] == [0.0, 2.0, 4.0, 6.0, 8.0] * 2
    assert seconds(frames) == list(range(20))


@pytest.mark.parametrize("size", [(176, 144), (175, 143)], ids=["qcif", "odd"])
def test_tiny_and_odd_frame_sizes(tmp_path: Path, size: tuple[int, int]) -> None:
    w, h = size
    clip = cc.h264(tmp_path / "s.mp4", seconds=4.0, size=size,
                   pix_fmt="yuv420p" if w % 2 == 0 else "yuv444p")
    segs, frames = run(clip)
    assert {(s.width, s.height) for s in segs} == {size}
    assert {f.rgb.shape for f in frames} == {(h, w, 3)}
    assert seconds(frames) == list(range(4))


def test_variable_frame_rate_samples_the_first_real_frame_of_each_second(tmp_path: Path) -> None:
    clip = cc.vfr(tmp_path / "v.mp4")
    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        shown = sorted(float(p.pts * s.time_base) for p in c.demux(s) if p.size)
    expected = [round(shown[i], 3) for i in SampleClock(1.0).select(shown)]
    _, frames = run(clip)
    assert [round(f.t, 3) for f in frames] == expected
    assert len(set(seconds(frames))) == len(frames) == 8


def test_timestamps_far_from_zero_start_the_file_at_zero(tmp_path: Path) -> None:
    segs, frames = run(cc.far_from_zero(tmp_path / "f.ts", offset=10_000.0))
    assert segs[0].start == 0.0
    assert seconds(frames) == list(range(6))


def test_a_timestamp_jump_keeps_time_running(tmp_path: Path) -> None:
    segs, frames = run(cc.jumping(tmp_path / "j.ts", jump=3600.0))
    assert seconds(frames) == list(range(8))  # no hour-long hole, no repeat
    assert all(b.start == pytest.approx(a.end, abs=0.05) for a, b in zip(segs, segs[1:],
                                                                         strict=False))


def test_a_stream_stepping_back_past_b_frames_keeps_every_second(tmp_path: Path) -> None:
    """Re-anchored one frame after the latest picture shown, not after the last B-frame
    in decode order (which gave the next pictures times already used: the stream came
    out 0.04 s short and its last window never came due)."""
    segs, frames = run(cc.stepping_back(tmp_path / "back.ts"))
    assert seconds(frames) == list(range(10))
    assert segs[-1].end == pytest.approx(10.0, abs=1e-3)


def test_a_file_whose_first_half_has_no_timestamps_keeps_it(tmp_path: Path) -> None:
    """Its untimed pictures were joined into one (as RTP pieces are) and the timed ones
    started the clock again at 0: 5 s of the 10 were left."""
    segs, frames = run(cc.untimed_start(tmp_path / "u.mkv"))
    assert seconds(frames) == list(range(10))
    assert segs[-1].end == pytest.approx(10.0, abs=0.05)


def test_raw_webcam_frames_are_transcoded(tmp_path: Path) -> None:
    segs, frames = run(cc.raw_frames(tmp_path / "w.nut"))
    assert {s.codec for s in segs} == {"h264"}
    assert seconds(frames) == list(range(3)) and frames[0].rgb.shape == (240, 320, 3)


def test_corrupt_mjpeg_frames_are_left_out_and_the_camera_goes_on(tmp_path: Path) -> None:
    segs, frames = run(cc.corrupt_mjpeg(tmp_path / "c.avi"))
    assert segs[-1].end > 5.5  # to the end of the 6-s file (it stopped at the bad frames)
    assert seconds(frames)[-1] == 5 and len(frames) >= 5


def test_a_one_pixel_wide_mjpeg_camera(tmp_path: Path) -> None:
    segs, frames = run(cc.mjpeg_avi(tmp_path / "p.avi", seconds=3.0, size=(1, 240)))
    assert {(s.width, s.height) for s in segs} == {(2, 240)}
    assert seconds(frames) == list(range(3))


@pytest.mark.parametrize("degrees", [90, 270])
def test_rotation_metadata_gives_upright_portrait_frames(tmp_path: Path, degrees: int) -> None:
    import subprocess

    import numpy as np

    clip = cc.rotated(tmp_path / "r.mp4", degrees=degrees, size=(320, 180))
    # what ffmpeg shows (it applies the display matrix): the oracle for "upright"
    raw = subprocess.run([cc.ffmpeg(), "-v", "error", "-i", str(clip), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True,
                         check=True).stdout
    upright = np.frombuffer(raw, np.uint8).reshape(320, 180, 3)
    segs, frames = run(clip)
    assert {s.rotation for s in segs} == {degrees}
    assert {f.rgb.shape for f in frames} == {(320, 180, 3)}  # portrait
    assert np.abs(frames[0].rgb.astype(int) - upright).mean() < 2.0
    assert seconds(frames) == list(range(4))


def _jittered_10_fps(start: float, seq: int = 1) -> Segment:
    """An MPEG-TS segment of frames 0.1 s apart but for a burst of two at the start, so
    the demuxer guesses a much higher rate (an MJPEG camera stamped on arrival, then
    transcoded, gives such segments); ``seq`` 1: a segment came before it."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90000)
        for pts in [0, 900, *range(9000, 20 * 9000, 9000)]:
            img = av.VideoFrame(64, 48, "yuv420p")
            img.pts, img.time_base = pts, Fraction(1, 90000)
            out.mux(stream.encode(img))
        out.mux(stream.encode(None))
    return Segment("mjpeg-cam", seq, start, 2.0, buf.getvalue(), "mpegts", "h264", 64, 48)


@pytest.mark.parametrize(("start", "cells", "seq"), [
    (100.01, [100, 101], 1), (100.03, [100, 101], 1), (100.06, [100, 101], 1),
    (100.5, [101, 102], 1),  # cell 100 began in the previous segment (a frame at 100.4)
    (100.5, [100, 101, 102], 0),  # the stream's first segment: cell 100 is its own
])
def test_a_segment_just_past_a_grid_line_keeps_its_first_cell(start: float, cells: list[int],
                                                               seq: int) -> None:
    frames = decode_segment(_jittered_10_fps(start, seq), 1.0, carry=False)
    assert [SampleClock(1.0).cell(f.t) for f in frames] == cells


def test_a_stream_nothing_of_which_decodes_is_the_cameras_error(tmp_path: Path,
                                                                monkeypatch) -> None:
    """Refused packets are left out one by one, but two segments' time of them with no
    frame between is the camera's error, named by libav (not an endless silence)."""
    from connectors.video import transcode
    from connectors.video.packets import TimedPacket

    class Refusing:
        def decode(self, packet):
            raise av.error.InvalidDataError(1094995529, "Invalid data found")

    monkeypatch.setattr(transcode, "_decoder_for", lambda source: Refusing())
    with av.open(str(cc.mjpeg_avi(tmp_path / "m.avi", seconds=6.0))) as c:
        stream = c.streams.video[0]
        packets = [TimedPacket(p, i / 10, True, 0.1, p.size)
                   for i, p in enumerate(c.demux(stream)) if p.size]
        coder = transcode.Transcoder("cam", 2.0)
        for tp in packets[:40]:  # 4 s of refusals: left out
            assert coder.feed(tp) == []
        with pytest.raises(av.error.InvalidDataError):
            coder.feed(packets[40])

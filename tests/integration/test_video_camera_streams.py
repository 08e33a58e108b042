"""Live camera kinds over the network: RTSP fed a long-GOP H.264 clip and an HEVC clip
(GStreamer RTSP server), and MJPEG over HTTP multipart. Segments arrive every ~2 s
even when keyframes are 8 s apart, each decodes on its own, and sampling at 1 fps
gives one frame per second of stream time: none missing, none twice."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import av
import pytest

from connectors.video.decoder import decode_segment
from connectors.video.resilience import segments
from connectors.video.sampling import SampleClock
from connectors.video.settings import VideoSettings
from pipeline.types import Segment
from tests.services import camera_clips as cc
from tests.services.mjpeg_http import MjpegServer

SETTINGS = VideoSettings(stall_timeout_s=5, open_timeout_s=15, max_reconnects=3)


def take(url: str, count: int) -> tuple[list[Segment], list[float]]:
    """The first ``count`` segments of a live camera, and when each arrived (wall clock)."""
    stop = threading.Event()
    got: list[Segment] = []
    arrived: list[float] = []
    for seg in segments(url, "cam", settings=SETTINGS, stop=stop):
        got.append(seg)
        arrived.append(time.time())
        if len(got) >= count:
            stop.set()
    return got[:count], arrived[:count]


def check(segs: list[Segment], arrived: list[float], codec: str) -> None:
    assert {s.codec for s in segs} == {codec}
    for seg in segs[:-1]:
        assert seg.duration <= 2.3, [round(s.duration, 2) for s in segs]
        with av.open(io.BytesIO(seg.data), format="mpegts") as c:
            first = next(iter(c.decode(video=0)))
        assert first.key_frame  # decodes on its own, carried prefix or not
    gaps = [b - a for a, b in zip(arrived, arrived[1:], strict=False)]
    assert max(gaps) < 4.0, gaps  # a segment every ~2 s, never a whole GOP late
    clock = SampleClock(1.0)
    cells = [clock.cell(f.t) for s in segs[:-1] for f in decode_segment(s, 1.0)]
    assert cells == list(range(cells[0], cells[0] + len(cells))), cells
    assert len(cells) >= 6


@pytest.mark.timeout(180)
def test_rtsp_long_gop_h264_segments_every_two_seconds(rtsp_server, tmp_path: Path) -> None:
    clip = cc.h264(tmp_path / "gop8.mp4", seconds=16.0, fps=10, gop_s=8.0)
    server = rtsp_server(clip, loop_seconds=60)
    segs, arrived = take(server.url, 5)
    check(segs, arrived, "h264")
    assert any(s.lead > 0 for s in segs)


@pytest.mark.timeout(180)
def test_rtsp_hevc(rtsp_server, tmp_path: Path) -> None:
    if not cc.has_encoder("libx265"):
        pytest.skip("this ffmpeg has no libx265 encoder")
    clip = cc.hevc(tmp_path / "hevc.mp4", seconds=16.0, fps=12, gop_s=8.0)
    server = rtsp_server(clip, loop_seconds=60)
    segs, arrived = take(server.url, 5)
    check(segs, arrived, "hevc")
    assert segs[0].width == 176 and segs[0].height == 144


@pytest.mark.timeout(120)
def test_mjpeg_over_http_multipart(tmp_path: Path) -> None:
    jpegs = cc.jpeg_frames(tmp_path / "jpg", count=20)
    with MjpegServer(jpegs, fps=10) as cam:
        segs, arrived = take(cam.url, 5)
    check(segs, arrived, "h264")  # MJPEG cannot ride in MPEG-TS: transcoded
    assert (segs[0].width, segs[0].height) == (320, 240)

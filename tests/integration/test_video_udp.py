"""MPEG-TS over UDP (a multicast-style feed) pushed by the ffmpeg binary."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading

import pytest

from connectors.video.resilience import segments
from connectors.video.settings import VideoSettings
from connectors.video.status import StreamStatus


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(60)
def test_udp_mpegts_feed_is_segmented(tiny_h264_clip) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("ffmpeg is not installed (make system-deps)")
        pytest.skip("ffmpeg is not installed (make system-deps)")
    port = _free_udp_port()
    sender = subprocess.Popen(
        [ffmpeg, "-v", "error", "-re", "-stream_loop", "-1", "-i", str(tiny_h264_clip),
         "-c", "copy", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    events: list = []
    got: list = []
    stop = threading.Event()
    try:
        settings = VideoSettings(stall_timeout_s=3, open_timeout_s=10)
        for seg in segments(f"udp://127.0.0.1:{port}", "yard", settings=settings,
                            observer=events.append, stop=stop):
            got.append(seg)
            if len(got) == 3:
                stop.set()
    finally:
        sender.terminate()
        sender.wait(timeout=10)
    assert len(got) >= 3
    assert [round(s.duration, 1) for s in got[1:3]] == [2.0, 2.0]  # keyframe every 2 s
    assert all(b.start == pytest.approx(a.end) for a, b in zip(got, got[1:], strict=False))
    assert [e.state for e in events][-1] is StreamStatus.ENDED

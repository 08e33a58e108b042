"""The video connector against a real RTSP server (GStreamer), including a restart."""

from __future__ import annotations

import io
import os
import signal
import threading
import time

import av
import pytest

from connectors.video.decoder import decode_segment
from connectors.video.resilience import segments
from connectors.video.settings import VideoSettings
from connectors.video.status import StreamStatus
from tests.waiting import wait_until

SETTINGS = VideoSettings(stall_timeout_s=3, open_timeout_s=10, reconnect_initial_s=0.2,
                         reconnect_max_s=1.0, max_reconnects=40)


def check_standalone(seg, fps: float = 10.0) -> None:
    """Decodes on its own, first frame a keyframe, as many frames as its duration says."""
    with av.open(io.BytesIO(seg.data), format="mpegts") as c:
        frames = list(c.decode(video=0))
    assert frames and frames[0].key_frame, f"segment {seg.seq} does not start with a keyframe"
    assert abs(len(frames) - seg.duration * fps) <= 1, (seg.seq, len(frames), seg.duration)


def wait_for(condition, timeout: float) -> bool:
    return wait_until(condition, timeout, poll=0.1)


@pytest.mark.timeout(150)
def test_rtsp_segments_survive_a_server_restart(rtsp_server, tiny_h264_clip) -> None:
    server = rtsp_server(tiny_h264_clip, loop_seconds=120)
    events: list = []
    got: list = []
    resumed: list = []
    stop = threading.Event()
    opened = time.time()

    def consume() -> None:  # the server must be restarted from this (main) thread
        for seg in segments(server.url, "gate", settings=SETTINGS, observer=events.append,
                            stop=stop):
            (resumed if _reconnected(events) else got).append(seg)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: len(got) >= 5, 40), "fewer than 5 segments from RTSP"
        server.stop()
        time.sleep(1.5)  # reconnect attempts fail while the camera is away
        server.start()
        assert wait_for(lambda: len(resumed) >= 3, 60), [e.state for e in events]
    finally:
        stop.set()
        reader.join(timeout=15)
    got += resumed

    states = [e.state for e in events]
    assert states[:2] == [StreamStatus.CONNECTING, StreamStatus.CONNECTED]
    assert StreamStatus.RECONNECTING in states[2:]
    assert states.count(StreamStatus.CONNECTED) >= 2
    assert [s.seq for s in got] == list(range(len(got)))  # numbering continues
    assert opened <= got[0].start <= time.time()  # live: UTC wall-clock times
    for a, b in zip(got, got[1:], strict=False):
        assert b.start >= a.end - 1e-6, (a.seq, a.end, b.start)  # time only moves forward
    first_five = got[:5]
    assert all(abs(b.start - a.end) < 1e-6 for a, b in zip(first_five, first_five[1:],
                                                          strict=False))  # seamless
    assert all(s.duration == pytest.approx(2.0, abs=0.01) for s in first_five[1:4])
    for seg in got:
        check_standalone(seg)
        frames = decode_segment(seg, 1.0)
        assert all(seg.start <= f.t < seg.end + 1e-6 for f in frames)


def _reconnected(events) -> bool:
    """Whether the stream came back: a CONNECTED after a RECONNECTING."""
    states = [e.state for e in events]
    if StreamStatus.RECONNECTING not in states:
        return False
    return StreamStatus.CONNECTED in states[states.index(StreamStatus.RECONNECTING):]


@pytest.mark.timeout(60)
def test_rtsp_read_five_segments_then_stop_cleanly(rtsp_server, tiny_h264_clip) -> None:
    server = rtsp_server(tiny_h264_clip, loop_seconds=60)
    events = []
    stop = threading.Event()
    got = []
    for seg in segments(server.url, "gate", settings=SETTINGS, observer=events.append,
                        stop=stop):
        got.append(seg)
        if len(got) == 5:
            stop.set()
    assert len(got) >= 5
    assert {(s.codec, s.width, s.height, s.container) for s in got} == {
        ("h264", 320, 240, "mpegts")}
    assert events[-1].state is StreamStatus.ENDED and events[-1].detail == "stopped"


@pytest.mark.timeout(120)
def test_a_frozen_server_is_detected_as_stalled_and_recovered(rtsp_server, tiny_h264_clip) -> None:
    """SIGSTOP keeps the TCP connection open but silent: only stall detection notices."""
    server = rtsp_server(tiny_h264_clip, loop_seconds=120)
    settings = VideoSettings(stall_timeout_s=2, open_timeout_s=10, reconnect_initial_s=0.2,
                             reconnect_max_s=1.0, max_reconnects=40)
    events: list = []
    got: list = []
    stop = threading.Event()

    def consume() -> None:
        for seg in segments(server.url, "dock", settings=settings, observer=events.append,
                            stop=stop):
            got.append(seg)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    group = os.getpgid(server.proc.pid)
    try:
        assert wait_for(lambda: len(got) >= 2, 40)
        os.killpg(group, signal.SIGSTOP)
        frozen_at = time.time()
        assert wait_for(lambda: StreamStatus.STALLED in [e.state for e in events], 15)
        stalled = next(e for e in events if e.state is StreamStatus.STALLED)
        # one stall timeout after the last packet, not two (FFmpeg's parser hands over
        # the picture it held when a read gives up; that read is the stall)
        assert 1.5 <= stalled.at - frozen_at <= 3.5, stalled.at - frozen_at
        os.killpg(group, signal.SIGCONT)
        count = len(got)
        assert wait_for(lambda: len(got) >= count + 2, 40), [e.state for e in events]
    finally:
        os.killpg(group, signal.SIGCONT)
        stop.set()
        reader.join(timeout=15)
    states = [e.state for e in events]
    i = states.index(StreamStatus.STALLED)
    assert states[i + 1] is StreamStatus.RECONNECTING
    assert StreamStatus.CONNECTED in states[i:]
    assert [s.seq for s in got] == list(range(len(got)))

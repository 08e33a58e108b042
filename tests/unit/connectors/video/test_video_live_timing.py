"""Live timing: a stall is reported one stall timeout after the last packet, a live
camera's time never runs ahead of the wall clock, a VOD playlist is read as a file."""

from __future__ import annotations

import functools
import http.server
import itertools
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import av
import pytest

from connectors.video.base import StreamEnded, StreamStalled
from connectors.video.packets import Timeline
from connectors.video.sources import LIVE_LEAD_S, PyAVSource, open_source
from connectors.video.testing import make_clip
from connectors.video.uri import SourceSpec

UDP = SourceSpec("udp://0.0.0.0:5000", "udp", "udp://0.0.0.0:5000", live=True,
                 format="mpegts")


class Clock:
    """A wall clock and a monotonic clock that only ``sleep`` moves."""

    def __init__(self, start: float) -> None:
        self.t, self.slept = start, 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.slept += seconds


class Container:
    """Stands for a demuxing container: hands over ``packets``, calling ``before(i)``
    before the i-th (a read that takes time)."""

    def __init__(self, packets: list, before=lambda i: None) -> None:
        self.packets, self.before = packets, before
        self.format, self.duration = SimpleNamespace(name="mpegts"), None

    def demux(self, stream) -> Iterator:
        for i, packet in enumerate(self.packets):
            self.before(i)
            yield packet

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    return make_clip(tmp_path_factory.mktemp("live") / "c.ts", seconds=2.0, fps=25,
                     keyframe_interval_s=1.0, container="mpegts")


@pytest.fixture()
def demuxed(clip):
    """The clip's video stream and its packets (PTS from 0, in 1/90000 s)."""
    container = av.open(str(clip))
    stream = container.streams.video[0]
    packets = [p for p in container.demux(stream) if p.size]
    first = min(p.pts for p in packets)
    for p in packets:
        p.pts, p.dts = p.pts - first, p.dts - first
    yield stream, packets
    container.close()


def _source(stream, container, clock: Clock, **kw) -> PyAVSource:
    timeline = Timeline(stream.time_base, anchor=clock.now(), max_jump=10.0, camera="dock",
                        now=clock.now)
    return PyAVSource("dock", container, stream, UDP, timeline, sleep=clock.sleep,
                      now=clock.now, monotonic=clock.now, **kw)


def _ahead(source: PyAVSource, clock: Clock) -> list[float]:
    """Each packet's time minus the wall clock when it was handed over, to the end."""
    ahead: list[float] = []
    with pytest.raises(StreamEnded):  # a live source's end: reconnected
        for tp in source:
            ahead.append(tp.t - clock.now())
    return ahead


def test_a_read_that_waited_the_stall_timeout_is_a_stall_at_once(demuxed) -> None:
    """FFmpeg's parser hands over the picture it held when a read gives up; taken for
    data, the stall was reported only after a second full timeout."""
    stream, packets = demuxed
    clock = Clock(1000.0)
    container = Container(packets[:10], before=lambda i: clock.sleep(3.0) if i == 5 else None)
    source = _source(stream, container, clock, stall_s=3.0)
    got = []
    with pytest.raises(StreamStalled, match="no data .* for 3.0 s"):
        got.extend(source)
    assert len(got) == 6  # the late picture itself is kept, then the stall is reported
    assert clock.now() == 1003.0  # no second wait


def test_a_live_camera_that_comes_faster_than_real_time_is_held_to_the_wall_clock(
        demuxed, caplog) -> None:
    """A backlog read at download speed (an HLS client behind the live edge) stamped
    times up to the backlog's length ahead of the wall clock: windows came due early."""
    stream, packets = demuxed
    clock = Clock(1000.0)
    source = _source(stream, Container(packets), clock, lead_s=LIVE_LEAD_S)
    with caplog.at_level(logging.INFO, logger="connectors.video.sources"):
        ahead = _ahead(source, clock)
    assert max(ahead) <= LIVE_LEAD_S + 1e-9
    assert clock.slept == pytest.approx(2.0 - 0.04 - LIVE_LEAD_S)  # 2 s clip, 1 s allowed
    held = [r for r in caplog.records if "ahead of the wall clock" in r.getMessage()]
    assert len(held) == 1 and "camera dock" in held[0].getMessage()


def test_two_senders_on_one_port_warn_once_and_keep_the_clock_bounded(demuxed,
                                                                      caplog) -> None:
    """Two MPEG-TS senders interleaving on one UDP port: every packet jumped, each
    re-anchor was logged without the camera, and time ran at twice the wall clock."""
    stream, packets = demuxed
    other = 60 * 90000  # the second sender's clock: 60 s further on
    mixed = []
    for p in packets:
        q = av.Packet(bytes(p))
        q.pts, q.dts, q.duration, q.time_base = p.pts + other, p.dts + other, 3600, p.time_base
        p.duration = 3600
        mixed += [p, q]
    clock = Clock(1000.0)
    source = _source(stream, Container(mixed), clock, lead_s=LIVE_LEAD_S)
    with caplog.at_level(logging.INFO, logger="connectors.video"):
        ahead = _ahead(source, clock)
    assert max(ahead) <= LIVE_LEAD_S + 1e-9  # bounded, however long it goes on
    lines = [r for r in caplog.records if "timestamp" in r.getMessage()]
    assert [r.levelname for r in lines] == ["INFO", "WARNING"], [r.getMessage() for r in lines]
    assert all("camera dock" in r.getMessage() for r in lines)
    assert "two senders on one port" in lines[1].getMessage()
    assert "pts 0 -> 5400000" in lines[0].getMessage()  # what jumped


def _serve(directory) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/cam.m3u8"


def _playlist(directory, *, live: bool) -> None:
    """8 s at 25 fps in four 2-s segments."""
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=25:duration=8", "-c:v", "libx264", "-preset",
                    "ultrafast", "-g", "25", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
                    *(["-hls_flags", "omit_endlist"] if live else []),
                    str(directory / "cam.m3u8")], check=True)


def test_a_live_playlist_is_read_from_its_newest_segment_on_the_wall_clock(tmp_path) -> None:
    """FFmpeg starts a live playlist three segments back and reads them at download
    speed: the camera's time ran up to 2-3 segments ahead of the wall clock."""
    _playlist(tmp_path, live=True)
    with av.open(str(tmp_path / "cam3.ts")) as newest:
        newest_pts = min(p.pts for p in newest.demux(video=0) if p.pts is not None)
    server, url = _serve(tmp_path)
    ahead, pts = [], []
    try:
        with open_source(url, "cam") as source:
            for tp in source:
                ahead.append(tp.t - time.time())
                pts.append(tp.packet.pts)
                if len(ahead) == 45:  # 1.8 s of the newest segment (its last picture
                    break  # is handed over only when more comes, or the read gives up)
    finally:
        server.shutdown()
    assert min(pts) == newest_pts
    assert max(ahead) <= LIVE_LEAD_S + 0.1, ahead


@pytest.mark.parametrize("realtime", [False, True], ids=["file-speed", "realtime"])
def test_a_vod_playlist_is_read_as_a_file(tmp_path, realtime) -> None:
    """A VOD playlist read as a camera was anchored on the wall clock and read at
    download speed: stamped up to its whole length in the future."""
    _playlist(tmp_path, live=False)
    server, url = _serve(tmp_path)
    try:
        before = time.time()
        with open_source(url, "cam", realtime=realtime) as source:
            ahead = [(tp.t, tp.t - time.time()) for tp in itertools.islice(source, 30)]
    finally:
        server.shutdown()
    assert len(ahead) == 30
    if realtime:  # anchored on the wall clock at open and paced
        assert before <= ahead[0][0] <= before + 1.0
        assert max(a for _, a in ahead) <= 0.05
    else:  # seconds from the start, as a file
        assert [round(t, 2) for t, _ in ahead[:3]] == [0.0, 0.04, 0.08]

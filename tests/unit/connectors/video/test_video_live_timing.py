"""Live timing: a stall is reported one stall timeout after the last packet."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import av
import pytest

from connectors.video.base import StreamStalled
from connectors.video.packets import Timeline
from connectors.video.sources import PyAVSource
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
    timeline = Timeline(stream.time_base, anchor=clock.now(), max_jump=10.0, now=clock.now)
    return PyAVSource("dock", container, stream, UDP, timeline, sleep=clock.sleep,
                      now=clock.now, monotonic=clock.now, **kw)


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

"""A file or stream with corrupt bytes in the middle: the packets libav refuses are left
out (as a player skips them), the rest of the camera is segmented, decoded and answered,
and the camera's thread does not die of it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from connectors.video.decoder import DecodeStats, decode_segment
from connectors.video.resilience import segments
from connectors.video.testing import make_clip


def _corrupt(path: Path, between: tuple[float, float]) -> int:
    """Zero the first bytes (the NAL length prefix) of every packet in ``between``
    seconds; how many packets were hit."""
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        hit = [(p.pos, p.size) for p in src.demux(stream)
               if p.pts is not None and p.pos is not None and p.size
               and between[0] <= float(p.pts * stream.time_base) < between[1]]
    data = bytearray(path.read_bytes())
    for pos, size in hit:
        data[pos: pos + min(size, 16)] = bytes(min(size, 16))
    path.write_bytes(bytes(data))
    return len(hit)


@pytest.fixture
def corrupt_clip(tmp_path: Path) -> Path:
    path = make_clip(tmp_path / "corrupt.mp4", seconds=12.0, fps=10, keyframe_interval_s=2.0,
                     size=(160, 96))
    assert _corrupt(path, (5.3, 5.6)) == 3
    return path


def test_a_corrupt_burst_is_left_out_and_the_rest_of_the_file_is_answered(
        corrupt_clip: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    segs = list(segments(str(corrupt_clip), "cam"))  # it raised InvalidDataError before
    assert segs[-1].end == pytest.approx(12.0, abs=0.15)
    assert any("corrupt and left out" in r.getMessage() and "camera cam" in r.getMessage()
               for r in caplog.records)
    stats = DecodeStats()
    times = [round(f.t) for s in segs for f in decode_segment(s, 1.0, stats=stats)]
    assert len(times) >= 11 and times[-1] == 11  # every second after the burst is there
    assert stats.corrupt == 0  # the remux left the refused packets out already


@dataclass(frozen=True)
class _Packet:
    pts: int


class _Codec:
    """A decoder double: refuses the packets named ``bad`` as libav refuses corrupt ones."""

    def __init__(self, bad: set[int]) -> None:
        self.bad = bad

    def decode(self, packet: _Packet | None) -> list[_Packet]:
        if packet is not None and packet.pts in self.bad:
            raise av.error.InvalidDataError(1094995529, "Invalid data found")
        return [] if packet is None else [packet]  # its picture

    def flush_buffers(self) -> None:
        pass


def test_the_decoder_skips_a_packet_it_refuses_and_keeps_the_others() -> None:
    """A corrupt packet that reaches the decoder (a transport stream carries it through
    the remux untouched) costs its own picture, not the whole segment (a dead letter
    before)."""
    from connectors.video.decoder import _fed, _Feed

    stats = DecodeStats()
    feed = _Feed(_Codec({3}), [_Packet(i) for i in range(1, 6)])  # type: ignore[arg-type]
    pictures = _fed(feed, None, None, None, stats)  # type: ignore[arg-type]
    assert [p.pts for p in pictures] == [1, 2, 4, 5]
    assert stats.corrupt == 1

"""A segment's bytes opened and demuxed: its video stream checked (codec, size) and its
packets with the times they stand for (:class:`Demuxed`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from pipeline.errors import DecodeError
from pipeline.types import Segment

_FORMATS = {"mpegts": "mpegts", "ts": "mpegts", "mp4": "mp4", "matroska": "matroska"}
_PROBE = {"skip_frame": "all"}  # the stream probe decodes no picture (~0.6 ms a segment)
CAMERA_CODECS = frozenset(
    {"h264", "hevc", "mpeg1video", "mpeg2video", "mpeg4", "mjpeg", "vp8", "vp9", "av1"}
)
"""Video codecs cameras send; anything else is refused before a decoder is opened."""
MAX_PIXELS = 4096 * 2160
"""Largest frame decoded (DCI 4K): an 8K frame is ~100 MB as RGB, times frames per window."""


@dataclass(frozen=True)
class Demuxed:
    segment: Segment
    stream: av.VideoStream
    packets: list[av.Packet]
    time_base: Fraction
    base_pts: int
    fps: float

    def time(self, pts: int | None) -> float:
        """Frame time: the carried keyframe sits ``lead`` seconds before ``start`` (one
        correctly rounded int division: the exact fraction's float, no ``Fraction``)."""
        tb, origin = self.time_base, self.segment.start - self.segment.lead
        return origin + ((pts or 0) - self.base_pts) * tb.numerator / tb.denominator

    def own(self, p: av.Packet) -> bool:
        return p.pts is not None and self.time(p.pts) >= self.segment.start - 1e-6

    def keyframe_times(self) -> list[float]:
        return [self.time(p.pts) for p in self.packets if p.is_keyframe and self.own(p)]

    def keyframe_units(self) -> list[av.Packet]:
        """The own keyframes, each with the untimed pieces that follow it (a frame the
        demuxer split in two: the second piece has no PTS but must be decoded)."""
        out: list[av.Packet] = []
        taking = False
        for p in self.packets:
            taking = (p.is_keyframe and self.own(p)) or (taking and p.pts is None)
            if taking:
                out.append(p)
        return out


def open_segment(segment: Segment) -> av.container.InputContainer:
    fmt = _FORMATS.get(segment.container)
    if fmt is None:
        raise DecodeError(segment.camera, segment.seq, f"unknown container {segment.container!r}")
    try:
        return av.open(io.BytesIO(segment.data), "r", format=fmt, options=_PROBE)
    except (av.error.FFmpegError, OSError) as exc:
        raise DecodeError(segment.camera, segment.seq, f"not readable {fmt} data: {exc}") from exc


def demux(segment: Segment, container: av.container.InputContainer) -> Demuxed:
    if not container.streams.video:
        raise DecodeError(segment.camera, segment.seq, "no video stream in segment")
    stream = container.streams.video[0]
    _check_codec(segment, stream.codec_context.name)
    check_size(segment, stream.codec_context.width, stream.codec_context.height)
    try:
        packets = [p for p in container.demux(stream) if p.size]
    except av.error.FFmpegError as exc:
        raise DecodeError(segment.camera, segment.seq, f"cannot demux: {exc}") from exc
    first_key = next((p for p in packets if p.is_keyframe and p.pts is not None), None)
    if first_key is None:
        raise DecodeError(segment.camera, segment.seq, "no keyframe in segment")
    rate = stream.average_rate or stream.guessed_rate or 0
    tb = stream.time_base or Fraction(1, 90000)
    return Demuxed(segment, stream, packets, tb, first_key.pts, float(rate))


def _check_codec(segment: Segment, codec: str) -> None:
    """Refuse codecs outside :data:`CAMERA_CODECS` (less decoder attack surface)."""
    if codec not in CAMERA_CODECS:
        allowed = ", ".join(sorted(CAMERA_CODECS))
        raise DecodeError(segment.camera, segment.seq, f"codec {codec!r} not accepted ({allowed})")


def check_size(segment: Segment, width: int, height: int) -> None:
    """Refuse frames above :data:`MAX_PIXELS` before they are converted to RGB."""
    if width * height > MAX_PIXELS:
        raise DecodeError(
            segment.camera, segment.seq, f"frame {width}x{height} exceeds {MAX_PIXELS} pixels"
        )

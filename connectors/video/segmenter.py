"""MPEG-TS segments, remuxed without re-encoding.

:class:`~connectors.video.cutter.Cutter` decides where segments end (at the target
length, mid-GOP when the keyframes are further apart); :class:`Segmenter` muxes each
cut — the packets carried from the keyframe, then its own — into its own MPEG-TS
container, so every segment starts with a keyframe and decodes on its own.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction

import av
import av.error

from connectors.video.cutter import Cut, Cutter
from connectors.video.packets import TimedPacket
from connectors.video.pixels import display_degrees
from connectors.video.settings import VideoSettings
from pipeline.errors import ConfigError
from pipeline.types import Segment

log = logging.getLogger(__name__)

REMUXABLE = frozenset({"h264", "hevc", "mpeg2video", "mpeg1video", "mpeg4"})
"""Video codecs MPEG-TS carries as they are; anything else needs transcode mode."""


def mux_segment(packets: Sequence[TimedPacket], refused: list[str] | None = None) -> bytes:
    """Remux packets (first one a keyframe) into a standalone MPEG-TS byte string.

    Timestamps are rewritten from the packets' times ``t`` (which the timeline has
    already made continuous), so a PTS discontinuity in the source cannot break a
    segment; the muxer inserts codec headers (SPS/PPS) kept out of band. Packets are
    left as they came (stream, timestamps): a GOP's packets ride in several segments.
    A packet the muxer refuses (corrupt bytes: its NAL lengths run past its end) is
    left out, as a player skips it, and described in ``refused`` when given.
    """
    template = packets[0].packet.stream
    tb = template.time_base or Fraction(1, 90000)
    stamps = restamp([tp.t for tp in packets], tb)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as out:
        stream = out.add_stream_from_template(template)
        for tp, (pts, dts) in zip(packets, stamps, strict=True):
            packet = tp.packet
            kept = (packet.stream, packet.time_base, packet.pts, packet.dts)
            packet.pts, packet.dts = pts, dts
            packet.stream = stream
            try:
                out.mux(packet)  # rebases the packet's timestamps on the stream's time base
            except av.error.FFmpegError as exc:
                if refused is not None:
                    refused.append(f"{tp.t:.3f}s: {exc.strerror or exc}")
            finally:
                packet.stream, packet.time_base = kept[0], kept[1]
                packet.pts, packet.dts = kept[2], kept[3]
    return buf.getvalue()


def restamp(times: Sequence[float], tb: Fraction) -> list[tuple[int, int]]:
    """(PTS, DTS) per packet (decode order) in ``tb`` units, from presentation times.

    PTS keeps the times relative to the first packet; DTS is the sorted PTS sequence,
    and every PTS is shifted by the deepest reordering so that DTS <= PTS everywhere.
    Source DTS are not used: RTSP leaves them out at first, and B-frames (or leading
    pictures of an open GOP, shown before their keyframe) need them consistent.
    """
    rel = [round((t - times[0]) / tb) for t in times]
    order = sorted(rel)
    shift = max(0, *(o - r for o, r in zip(order, rel, strict=True))) - min(0, order[0])
    out: list[tuple[int, int]] = []
    last = None
    for r, o in zip(rel, order, strict=True):
        dts = o - min(0, order[0])
        dts = dts if last is None or dts > last else last + 1
        out.append((max(r + shift, dts), dts))
        last = dts
    return out


class Segmenter:
    """Packets of one camera in, numbered :class:`Segment` objects out."""

    def __init__(self, camera: str, cutter: Cutter[TimedPacket], *, start_seq: int = 0,
                 on_segment: Callable[[Segment], None] | None = None) -> None:
        self.camera = camera
        self.cutter = cutter
        self.next_seq = start_seq
        self._on_segment = on_segment
        self._rotation: tuple[int, int] | None = None  # (id of the source stream, degrees)

    @classmethod
    def from_config(cls, camera: str, settings: VideoSettings | None = None,
                    *, start_seq: int = 0) -> Segmenter:
        s = settings or VideoSettings()
        cutter: Cutter[TimedPacket] = Cutter(
            s.segment_seconds, s.max_segment_bytes, camera=camera, mid_gop=s.cut_mid_gop)
        return cls(camera, cutter, start_seq=start_seq)

    def feed(self, tp: TimedPacket) -> list[Segment]:
        """One packet in; the segments it completed out."""
        return [self._build(c) for c in self.cutter.push(tp)]

    def flush(self) -> list[Segment]:
        """Emit what is buffered (end of stream or before reconnecting)."""
        return [self._build(c) for c in self.cutter.drain()]

    def run(self, packets: Iterable[TimedPacket]) -> Iterator[Segment]:
        """Segment a whole packet stream, flushing at its end."""
        for tp in packets:
            yield from self.feed(tp)
        yield from self.flush()

    def _build(self, cut: Cut[TimedPacket]) -> Segment:
        ctx = cut.packets[0].packet.stream.codec_context
        if ctx.name not in REMUXABLE:
            raise ConfigError("codec", ctx.name, f"MPEG-TS remux supports {sorted(REMUXABLE)}; "
                              "use transcode mode")
        refused: list[str] = []
        data = mux_segment(cut.packets, refused)
        if refused:
            log.warning("camera %s: segment %d: %d of %d packets were corrupt and left out "
                        "(the first at %s)", self.camera, self.next_seq, len(refused),
                        len(cut.packets), refused[0])
        seg = Segment(self.camera, self.next_seq, cut.start, cut.duration, data, "mpegts",
                      ctx.name, ctx.width, ctx.height, lead=round(cut.lead, 6),
                      rotation=self._rotation_of(cut.packets[0]))
        self.next_seq += 1
        self._check_size(seg)
        return seg

    def _rotation_of(self, keyframe: TimedPacket) -> int:
        """The source's display rotation, read once per connection by decoding its first
        keyframe with the source stream's own decoder (it alone sees the display matrix)."""
        stream = keyframe.packet.stream
        if self._rotation is None or self._rotation[0] != id(stream):
            self._rotation = (id(stream), display_rotation(keyframe))
        return self._rotation[1]

    def _check_size(self, seg: Segment) -> None:
        limit = self.cutter.max_bytes
        if limit and len(seg.data) > limit:
            log.warning("camera %s: segment %d is %d bytes, over max_segment_bytes=%d",
                        self.camera, seg.seq, len(seg.data), limit)


def display_rotation(keyframe: TimedPacket) -> int:
    """Degrees (0/90/180/270) to turn frames counterclockwise, from the display matrix
    the source stream's decoder attaches to the frame of ``keyframe`` (0 if none)."""
    codec = keyframe.packet.stream.codec_context
    try:
        frames = [*codec.decode(keyframe.packet), *codec.decode(None)]
    except (av.error.FFmpegError, ValueError, AttributeError):  # no decoder: assume upright
        return 0
    finally:
        codec.flush_buffers()
    return display_degrees(frames[0]) if frames else 0

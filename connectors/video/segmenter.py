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

from connectors.video.cutter import Cut, Cutter
from connectors.video.packets import TimedPacket
from connectors.video.settings import VideoSettings
from pipeline.errors import ConfigError
from pipeline.types import Segment

log = logging.getLogger(__name__)

REMUXABLE = frozenset({"h264", "hevc", "mpeg2video", "mpeg1video", "mpeg4"})
"""Video codecs MPEG-TS carries as they are; anything else needs transcode mode."""


def mux_segment(packets: Sequence[TimedPacket]) -> bytes:
    """Remux packets (first one a keyframe) into a standalone MPEG-TS byte string.

    Timestamps are rewritten from the packets' times ``t`` (which the timeline has
    already made continuous), so a PTS discontinuity in the source cannot break a
    segment; the muxer inserts codec headers (SPS/PPS) kept out of band. Packets are
    left as they came (stream, timestamps): a GOP's packets ride in several segments.
    """
    template = packets[0].packet.stream
    tb = template.time_base or Fraction(1, 90000)
    lead = _reorder_delay(packets[0].packet)
    buf = io.BytesIO()
    last_dts: int | None = None
    with av.open(buf, "w", format="mpegts") as out:
        stream = out.add_stream_from_template(template)
        for tp in packets:
            packet = tp.packet
            kept = (packet.stream, packet.time_base, packet.pts, packet.dts)
            last_dts = _restamp(tp, packets[0].t, tb, lead, last_dts)
            packet.stream = stream
            out.mux(packet)  # rebases the packet's timestamps on the stream's time base
            packet.stream, packet.time_base = kept[0], kept[1]
            packet.pts, packet.dts = kept[2], kept[3]
    return buf.getvalue()


def _reorder_delay(packet: av.Packet) -> int:
    if packet.pts is None or packet.dts is None:
        return 0
    return max(packet.pts - packet.dts, 0)


def _restamp(tp: TimedPacket, t0: float, tb: Fraction, lead: int, last_dts: int | None) -> int:
    """PTS from ``t``; DTS keeps the packet's own reorder delay and always increases."""
    packet = tp.packet
    delay = _reorder_delay(packet)
    pts = lead + round((tp.t - t0) / tb)
    dts = pts - delay
    if last_dts is not None and dts <= last_dts:
        dts = last_dts + 1
    packet.pts, packet.dts = max(pts, dts), dts
    return dts


class Segmenter:
    """Packets of one camera in, numbered :class:`Segment` objects out."""

    def __init__(self, camera: str, cutter: Cutter[TimedPacket], *, start_seq: int = 0,
                 on_segment: Callable[[Segment], None] | None = None) -> None:
        self.camera = camera
        self.cutter = cutter
        self.next_seq = start_seq
        self._on_segment = on_segment

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
        data = mux_segment(cut.packets)
        seg = Segment(self.camera, self.next_seq, cut.start, cut.duration, data, "mpegts",
                      ctx.name, ctx.width, ctx.height, lead=round(cut.lead, 6))
        self.next_seq += 1
        self._check_size(seg)
        return seg

    def _check_size(self, seg: Segment) -> None:
        limit = self.cutter.max_bytes
        if limit and len(seg.data) > limit:
            log.warning("camera %s: segment %d is %d bytes, over max_segment_bytes=%d",
                        self.camera, seg.seq, len(seg.data), limit)

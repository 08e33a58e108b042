"""Keyframe-aligned MPEG-TS segments, remuxed without re-encoding.

:class:`Cutter` decides where segments end (pure logic on packet time, keyframe flag
and size); :class:`Segmenter` muxes each group of packets into its own MPEG-TS
container, so every segment starts with a keyframe and decodes on its own.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from typing import Generic, Protocol, TypeVar

import av

from connectors.video.packets import TimedPacket
from connectors.video.settings import VideoSettings
from pipeline.errors import ConfigError
from pipeline.types import Segment

log = logging.getLogger(__name__)

REMUXABLE = frozenset({"h264", "hevc", "mpeg2video", "mpeg1video", "mpeg4"})
"""Video codecs MPEG-TS carries as they are; anything else needs transcode mode."""
TS_PACKET, TS_PAYLOAD, PES_HEADER = 188, 184, 19
EPS = 1e-3


class Timed(Protocol):
    @property
    def t(self) -> float: ...
    @property
    def keyframe(self) -> bool: ...
    @property
    def size(self) -> int: ...
    @property
    def duration(self) -> float: ...


P = TypeVar("P", bound=Timed)
Group = tuple[list[P], float]  # packets of one segment, its duration


def ts_size_estimate(packets: Sequence[Timed], duration: float) -> int:
    """Upper-bound estimate of the MPEG-TS size of these packets (PES + PAT/PMT overhead)."""
    payload = sum(math.ceil((p.size + PES_HEADER) / TS_PAYLOAD) for p in packets) * TS_PACKET
    tables = 2 * TS_PACKET * (2 + math.ceil(max(duration, 0.0) * 10))
    return payload + tables


class Cutter(Generic[P]):
    """Groups packets into segments: cut only at keyframes, at ``target`` seconds, and
    before a whole GOP would push a segment past ``max_bytes`` (0: no limit)."""

    def __init__(self, target: float = 2.0, max_bytes: int = 0, *, camera: str = "") -> None:
        if not target > 0:
            raise ConfigError("segment_seconds", target, "must be > 0")
        if max_bytes < 0:
            raise ConfigError("max_segment_bytes", max_bytes, "must be >= 0 (0: no limit)")
        self.target, self.max_bytes, self.camera = target, max_bytes, camera
        self._seg: list[P] = []
        self._gop: list[P] = []
        self._warned: set[str] = set()
        self.dropped = 0

    def push(self, p: P) -> list[Group[P]]:
        """Add one packet (decode order); returns the segments it completed."""
        if not self._gop and not self._seg and not p.keyframe:
            self.dropped += 1  # nothing decodes before the first keyframe
            return []
        done: list[Group[P]] = []
        if p.keyframe and self._gop:
            done = self._close_gop(p.t)
        self._gop.append(p)
        return done

    def drain(self) -> list[Group[P]]:
        """End of stream: whatever is buffered becomes the last segment(s)."""
        if not self._gop:
            return self._emit_all(self._end_guess(self._seg))
        done = self._close_gop(self._end_guess(self._gop), final=True)
        return done + self._emit_all(self._end_guess(self._seg))

    def _close_gop(self, next_t: float, final: bool = False) -> list[Group[P]]:
        gop, self._gop = self._gop, []
        self._check_gop(gop, next_t)
        done: list[Group[P]] = []
        if self._seg and self._too_big(self._seg + gop, next_t):
            done += self._emit_all(gop[0].t)
        self._seg += gop
        if not final and next_t - self._seg[0].t >= self.target - EPS:
            done += self._emit_all(next_t)
        return done

    def _emit_all(self, end: float) -> list[Group[P]]:
        if not self._seg:
            return []
        seg, self._seg = self._seg, []
        return [(seg, max(end - seg[0].t, 0.0))]

    def _too_big(self, packets: list[P], end: float) -> bool:
        return self.max_bytes > 0 and ts_size_estimate(packets, end - packets[0].t) > self.max_bytes

    def _check_gop(self, gop: list[P], next_t: float) -> None:
        if next_t - gop[0].t > self.target + EPS:
            self._warn_once("gop", "keyframe interval %.2fs exceeds the %.2fs segment target; "
                            "segments follow the keyframes", next_t - gop[0].t, self.target)
        if self.max_bytes and ts_size_estimate(gop, next_t - gop[0].t) > self.max_bytes:
            self._warn_once("size", "one GOP (%.2fs) exceeds max_segment_bytes=%d; it cannot be "
                            "split without re-encoding (try transcode mode)", next_t - gop[0].t,
                            self.max_bytes)

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("camera %s: " + msg, self.camera, *args)

    @staticmethod
    def _end_guess(packets: list[P]) -> float:
        if not packets:
            return 0.0
        last = max(packets, key=lambda p: p.t)
        step = last.duration or _median_step(packets)
        return last.t + step


def _median_step(packets: Sequence[Timed]) -> float:
    times = sorted(p.t for p in packets)
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    return steps[len(steps) // 2] if steps else 0.0


def mux_segment(packets: Sequence[TimedPacket]) -> bytes:
    """Remux packets (first one a keyframe) into a standalone MPEG-TS byte string.

    Timestamps are rewritten from the packets' times ``t`` (which the timeline has
    already made continuous), so a PTS discontinuity in the source cannot break a
    segment; the muxer inserts codec headers (SPS/PPS) kept out of band.
    """
    template = packets[0].packet.stream
    tb = template.time_base or Fraction(1, 90000)
    lead = _reorder_delay(packets[0].packet)
    buf = io.BytesIO()
    last_dts: int | None = None
    with av.open(buf, "w", format="mpegts") as out:
        stream = out.add_stream_from_template(template)
        for tp in packets:
            last_dts = _restamp(tp, packets[0].t, tb, lead, last_dts)
            tp.packet.stream = stream
            out.mux(tp.packet)
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
        cutter: Cutter[TimedPacket] = Cutter(s.segment_seconds, s.max_segment_bytes, camera=camera)
        return cls(camera, cutter, start_seq=start_seq)

    def feed(self, tp: TimedPacket) -> list[Segment]:
        """One packet in; the segments it completed out."""
        return [self._build(g, d) for g, d in self.cutter.push(tp)]

    def flush(self) -> list[Segment]:
        """Emit what is buffered (end of stream or before reconnecting)."""
        return [self._build(g, d) for g, d in self.cutter.drain()]

    def run(self, packets: Iterable[TimedPacket]) -> Iterator[Segment]:
        """Segment a whole packet stream, flushing at its end."""
        for tp in packets:
            yield from self.feed(tp)
        yield from self.flush()

    def _build(self, packets: list[TimedPacket], duration: float) -> Segment:
        ctx = packets[0].packet.stream.codec_context
        if ctx.name not in REMUXABLE:
            raise ConfigError("codec", ctx.name, f"MPEG-TS remux supports {sorted(REMUXABLE)}; "
                              "use transcode mode")
        data = mux_segment(packets)
        seg = Segment(self.camera, self.next_seq, packets[0].t, duration, data, "mpegts",
                      ctx.name, ctx.width, ctx.height)
        self.next_seq += 1
        self._check_size(seg)
        return seg

    def _check_size(self, seg: Segment) -> None:
        limit = self.cutter.max_bytes
        if limit and len(seg.data) > limit:
            log.warning("camera %s: segment %d is %d bytes, over max_segment_bytes=%d",
                        self.camera, seg.seq, len(seg.data), limit)

"""Segment bytes → sampled RGB frames (keyframe-only fast path when it suffices)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error
import numpy as np

from connectors.video.carry import CACHE, CarryCache, fresh_codec
from connectors.video.pixels import upright_pictures
from connectors.video.runs import minimal_runs, split_gops
from connectors.video.sampling import SampleClock, keyframes_suffice
from pipeline.errors import DecodeError
from pipeline.types import Frame, Segment

log = logging.getLogger(__name__)
_FORMATS = {"mpegts": "mpegts", "ts": "mpegts", "mp4": "mp4", "matroska": "matroska"}
_PROBE = {"skip_frame": "all"}  # the stream probe decodes no picture (~0.6 ms a segment)
CAMERA_CODECS = frozenset(
    {"h264", "hevc", "mpeg1video", "mpeg2video", "mpeg4", "mjpeg", "vp8", "vp9", "av1"}
)
"""Video codecs cameras send; anything else is refused before a decoder is opened."""
MAX_PIXELS = 4096 * 2160
"""Largest frame decoded (DCI 4K): an 8K frame is ~100 MB as RGB, times frames per window."""


@dataclass
class DecodeStats:
    """What decoding cost: frames the codec produced, and frames kept (sampled)."""

    decoded: int = 0
    sampled: int = 0
    segments: int = 0
    corrupt: int = 0  # packets the decoder refused (skipped, as a player skips them)

    @property
    def per_sample(self) -> float:
        """Decoded frames per sampled frame (1.0 is the floor)."""
        return self.decoded / self.sampled if self.sampled else float("nan")


@dataclass(frozen=True)
class _Demuxed:
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


def decode_segment(
    segment: Segment,
    sample_fps: float = 1.0,
    *,
    keyframes_only: bool | None = None,
    stats: DecodeStats | None = None,
    carry: bool = True,
) -> list[Frame]:
    """RGB frames of ``segment`` on the absolute ``sample_fps`` grid.

    Only the segment's own frames (from ``segment.start``) are returned; a carried
    prefix is decoded just to reach them. ``keyframes_only=None`` picks the cheapest
    plan: keyframes alone when they fill every sampling cell, else minimal runs (each
    GOP decoded from its keyframe up to its last sampled frame, the rest skipped);
    ``True`` forces keyframes, ``False`` a full decode of every packet (the baseline).
    ``carry`` resumes the decoder kept from the camera's previous segment of the same
    GOP (see :mod:`connectors.video.carry`) instead of decoding the prefix again.
    A segment may legitimately yield no frame (its grid cells were sampled by the
    previous segment). Any failure raises ``DecodeError`` naming camera and seq.
    """
    clock = SampleClock(sample_fps)
    with _open(segment) as container:
        d = _demux(segment, container)
        plan = _PLANS[keyframes_only] if keyframes_only is not None else _choose(d, clock.fps)
        stats = stats if stats is not None else DecodeStats()
        corrupt = stats.corrupt
        try:
            frames = _decode(d, clock, plan, stats, CACHE if carry else None)
        except (av.error.FFmpegError, ValueError) as exc:
            raise DecodeError(segment.camera, segment.seq, f"decode failed: {exc}") from exc
        if stats.corrupt > corrupt:
            log.warning("camera %s segment %d: %d corrupt packet(s) skipped", segment.camera,
                        segment.seq, stats.corrupt - corrupt)
        return frames


_PLANS = {True: "keyframes", False: "full"}


def plan_for(segment: Segment, sample_fps: float = 1.0) -> str:
    """``"keyframes"`` or ``"runs"``: the plan ``decode_segment`` would take."""
    fps = SampleClock(sample_fps).fps
    with _open(segment) as container:
        return _choose(_demux(segment, container), fps)


def carried_share(segment: Segment) -> float:
    """Share of the video payload carried before ``segment.start`` (0: keyframe-aligned)."""
    if segment.lead <= 0:
        return 0.0
    with _open(segment) as container:
        d = _demux(segment, container)
        total = sum(p.size for p in d.packets)
        return sum(p.size for p in d.packets if not d.own(p)) / total if total else 0.0


def _choose(d: _Demuxed, fps: float) -> str:
    kf = d.keyframe_times()
    seg = d.segment
    if seg.lead > 0 or not kf:
        return "runs"
    end = seg.end if seg.duration > 0 else max(kf) + 1.0 / fps
    return "keyframes" if keyframes_suffice(kf, end, fps) else "runs"


def _open(segment: Segment) -> av.container.InputContainer:
    fmt = _FORMATS.get(segment.container)
    if fmt is None:
        raise DecodeError(segment.camera, segment.seq, f"unknown container {segment.container!r}")
    try:
        return av.open(io.BytesIO(segment.data), "r", format=fmt, options=_PROBE)
    except (av.error.FFmpegError, OSError) as exc:
        raise DecodeError(segment.camera, segment.seq, f"not readable {fmt} data: {exc}") from exc


def _demux(segment: Segment, container: av.container.InputContainer) -> _Demuxed:
    if not container.streams.video:
        raise DecodeError(segment.camera, segment.seq, "no video stream in segment")
    stream = container.streams.video[0]
    _check_codec(segment, stream.codec_context.name)
    _check_size(segment, stream.codec_context.width, stream.codec_context.height)
    try:
        packets = [p for p in container.demux(stream) if p.size]
    except av.error.FFmpegError as exc:
        raise DecodeError(segment.camera, segment.seq, f"cannot demux: {exc}") from exc
    first_key = next((p for p in packets if p.is_keyframe and p.pts is not None), None)
    if first_key is None:
        raise DecodeError(segment.camera, segment.seq, "no keyframe in segment")
    rate = stream.average_rate or stream.guessed_rate or 0
    tb = stream.time_base or Fraction(1, 90000)
    return _Demuxed(segment, stream, packets, tb, first_key.pts, float(rate))


def _check_codec(segment: Segment, codec: str) -> None:
    """Refuse codecs outside :data:`CAMERA_CODECS` (less decoder attack surface)."""
    if codec not in CAMERA_CODECS:
        allowed = ", ".join(sorted(CAMERA_CODECS))
        raise DecodeError(segment.camera, segment.seq, f"codec {codec!r} not accepted ({allowed})")


def _check_size(segment: Segment, width: int, height: int) -> None:
    """Refuse frames above :data:`MAX_PIXELS` before they are converted to RGB."""
    if width * height > MAX_PIXELS:
        raise DecodeError(
            segment.camera, segment.seq, f"frame {width}x{height} exceeds {MAX_PIXELS} pixels"
        )


@dataclass
class _Feed:
    """Packets for one decoder; ``keep``: hand the decoder to the carry cache afterwards
    (with the times of every packet of its GOP fed so far) instead of draining it."""

    codec: av.CodecContext
    packets: list[av.Packet]
    keep: list[float | None] | None = None


def _decode(d: _Demuxed, clock: SampleClock, plan: str, stats: DecodeStats,
            carry: CarryCache | None) -> list[Frame]:
    codec = d.stream.codec_context
    codec.skip_frame = "NONKEY" if plan == "keyframes" else "DEFAULT"
    wanted = None if plan == "keyframes" else _wanted_pts(d, clock)
    if plan == "keyframes":
        feeds = [_Feed(codec, d.keyframe_units())]
    elif plan == "full":
        feeds = [_Feed(codec, d.packets)]
    else:
        assert wanted is not None
        feeds = _run_feeds(d, codec, wanted, carry)
    prev = _prev_candidate(d, plan == "keyframes")
    frames: list[Frame] = []
    decoded = 0
    for feed in feeds:
        for frame in _fed(feed, d, wanted, carry, stats):
            decoded += 1
            if frame.pts is None:
                continue  # an untimed frame cannot be placed on the sampling grid
            t = d.time(frame.pts)
            keep = clock.keep(t, prev) if wanted is None else frame.pts in wanted
            if t >= d.segment.start - 1e-6 and keep:
                frames.append(_frame(d.segment, frame, t))
            prev = t
    if decoded == 0 and any(f.packets for f in feeds):
        raise DecodeError(d.segment.camera, d.segment.seq, "no frame could be decoded")
    stats.decoded += decoded
    stats.sampled += len(frames)
    stats.segments += 1
    return frames


def _fed(feed: _Feed, d: _Demuxed, wanted: set[int] | None,
         carry: CarryCache | None, stats: DecodeStats) -> Iterator[av.VideoFrame]:
    """Decode a feed; drain it, or keep its decoder for the camera's next segment when
    every wanted frame is already out (draining would lose the decoder's state)."""
    due = {p.pts for p in feed.packets if wanted is not None and p.pts in wanted}
    for p in feed.packets:
        try:
            out = feed.codec.decode(p)
        except av.error.InvalidDataError:  # a corrupt packet: skipped, as a player does
            stats.corrupt += 1
            continue
        for frame in out:
            due.discard(frame.pts)
            yield frame
    if feed.keep is not None and carry is not None and not due:
        carry.keep(d.segment.camera, feed.codec, feed.keep)
        return
    yield from feed.codec.decode(None)
    feed.codec.flush_buffers()


def _run_feeds(d: _Demuxed, codec: av.CodecContext, wanted: set[int],
               carry: CarryCache | None) -> list[_Feed]:
    """Minimal runs per GOP. The last GOP resumes the decoder this process kept from
    the camera's previous segment when it continues that GOP, and is fed whole (its
    decoder kept) when the camera's next segment should continue it."""
    seg, gops = d.segment, split_gops(d.packets)
    last = gops[-1]
    feeds = [_Feed(codec, run) for g in gops[:-1] for run in minimal_runs(g, wanted)]
    origin = seg.start - seg.lead if last[0].pts is None else d.time(last[0].pts)
    keep = carry is not None and carry.worth_keeping(seg.camera, origin, seg.end)
    times = [None if p.pts is None else d.time(p.pts) for p in last]
    taken = carry.take(seg.camera, times) if carry is not None and len(gops) == 1 else None
    if taken is not None and any(p.pts in wanted for p in last[: taken[1]]):
        taken = None  # a wanted frame was already decoded (this segment, seen again)
    resumed, skip = taken if taken is not None else (fresh_codec(d.stream) if keep else codec, 0)
    if keep:
        feeds.append(_Feed(resumed, last[skip:], keep=times))
    else:
        feeds += [_Feed(resumed, run) for run in minimal_runs(last[skip:], wanted)]
    return feeds


def _wanted_pts(d: _Demuxed, clock: SampleClock) -> set[int]:
    """PTS of the own frames on the sampling grid: the first frame of every cell."""
    shown = sorted({int(p.pts) for p in d.packets if p.pts is not None}, key=d.time)
    own = [pts for pts in shown if d.time(pts) >= d.segment.start - 1e-6]
    before = [d.time(pts) for pts in shown if d.time(pts) < d.segment.start - 1e-6]
    prev = before[-1] if before else _prev_candidate(d, False)
    return {own[i] for i in clock.select([d.time(pts) for pts in own], prev)}


def _prev_candidate(d: _Demuxed, fast: bool) -> float | None:
    """Where the previous segment's last candidate frame lies; None for a stream's first
    segment (seq 0, nothing carried): its first frame opens its cell, or the stream's
    first cell — and a window ending there — would have no frame."""
    if d.segment.seq == 0 and d.segment.lead <= 0:
        return None
    return d.segment.start - _step_before(d, fast)


def _step_before(d: _Demuxed, fast: bool) -> float:
    """How far before the first frame the previous segment's last candidate lies.

    Measured from the segment's own frame spacing, not the stream's declared rate: an
    untimed source (MJPEG stamped on arrival, then transcoded) declares a guessed 25 fps,
    and a 10 fps segment starting just past a grid line would lose its first cell."""
    if fast:
        kf = sorted(d.keyframe_times())
        return kf[1] - kf[0] if len(kf) > 1 else (d.segment.duration or 1.0)
    times = sorted({d.time(p.pts) for p in d.packets if p.pts is not None})
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b - a > 1e-6]
    if gaps:  # the frames' own spacing: a declared rate can be a demuxer's guess
        return float(np.median(gaps))
    return 1.0 / d.fps if d.fps else 0.04


def _frame(segment: Segment, frame: av.VideoFrame, t: float) -> Frame:
    _check_size(segment, frame.width, frame.height)  # the size may change mid-stream
    rgb, thumb = upright_pictures(frame, segment.rotation)
    return Frame(segment.camera, t, rgb, segment.seq, bool(frame.key_frame), thumb)

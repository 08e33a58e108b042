"""Incident clips: the packets of the segments covering an incident, remuxed into MP4.

No frame is decoded or encoded: each segment is demuxed, every frame is kept once
(:func:`connectors.video.clip_plan.dedupe`), the plan picks the range, and the
packets are muxed as they are into a ``faststart`` MP4 (the index up front, so a
browser plays it while it downloads). Timestamps are rewritten from the frames'
stream times, starting at 0 at the clip's first keyframe and continuous across the
segments (and across the skipped middle of a capped clip). Only the video stream
is read, so audio never reaches a clip. Segments whose codec parameters differ from
those of the segment the event starts in (a camera that changed resolution
between reconnects) are left out: one MP4 track has one set.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error

from connectors.video.base import ClipError
from connectors.video.clip_plan import ClipWindow, Plan, dedupe, plan
from connectors.video.segmenter import restamp
from pipeline.types import Segment

_FORMATS = {"mpegts": "mpegts", "ts": "mpegts", "mp4": "mp4", "matroska": "matroska"}
TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class Clip:
    """A cut clip. ``start`` is the stream time of its first frame (a keyframe);
    ``event_at`` is where the event's start falls in the clip (seconds; the pre-roll
    before it, longer when the keyframe lies further back); ``skipped`` is the stream
    interval a capped clip leaves out."""

    data: bytes
    camera: str
    start: float
    duration: float
    event_at: float
    frames: int
    codec: str
    width: int
    height: int
    source_bytes: int
    skipped: tuple[float, float] | None = None
    content_type: str = field(default="video/mp4")


@dataclass
class _Unit:
    """One frame's packet with its stream time."""

    t: float
    keyframe: bool
    packet: av.Packet


def cut_clip(segments: Sequence[Segment], window: ClipWindow) -> Clip:
    """The clip of ``window`` from ``segments`` (one camera, any order, overlap or
    duplicates allowed); raises :class:`ClipError` when they hold no usable keyframe."""
    if not segments:
        raise ClipError("no segment covers the clip's time range")
    ordered = sorted(segments, key=lambda s: (s.start, s.seq))
    with contextlib.ExitStack() as stack:
        opened = [(s, stack.enter_context(_open(s))) for s in ordered]
        ref = _reference(opened, window.start)
        usable = [(s, c) for s, c in opened if _params(c) == _params(ref[1])]
        units = dedupe(_units(s, c) for s, c in usable)
        p = plan(units, window)
        data = _mux(p, ref[1].streams.video[0])
        ctx = ref[1].streams.video[0].codec_context
        return Clip(data, ref[0].camera, p.origin, p.duration, window.start - p.origin,
                    len(p.units), ctx.name, ctx.width, ctx.height,
                    sum(len(s.data) for s, _ in usable if _overlaps(s, p)), p.skipped)


def _open(segment: Segment) -> av.container.InputContainer:
    fmt = _FORMATS.get(segment.container)
    if fmt is None:
        raise ClipError(f"segment {segment.seq}: unknown container {segment.container!r}")
    try:
        return av.open(io.BytesIO(segment.data), "r", format=fmt)
    except (av.error.FFmpegError, OSError) as exc:
        raise ClipError(f"segment {segment.seq}: not readable {fmt} data: {exc}") from exc


def _reference(opened: list[tuple[Segment, av.container.InputContainer]],
               at: float) -> tuple[Segment, av.container.InputContainer]:
    """The segment the event starts in (else the last one starting before it, else
    the first); its parameters are the clip's."""
    with_video = [(s, c) for s, c in opened if c.streams.video]
    if not with_video:
        raise ClipError("no video stream in the segments given")
    before = [(s, c) for s, c in with_video if s.start - s.lead <= at]
    return before[-1] if before else with_video[0]


def _params(container: av.container.InputContainer) -> tuple[object, ...]:
    if not container.streams.video:
        return ()
    ctx = container.streams.video[0].codec_context
    return (ctx.name, ctx.width, ctx.height, bytes(ctx.extradata or b""))


def _units(segment: Segment, container: av.container.InputContainer) -> list[_Unit]:
    """The segment's frames in decode order, timed as the decoder times them: its
    first keyframe sits ``lead`` seconds before ``start``."""
    stream = container.streams.video[0]
    tb = stream.time_base or TIME_BASE
    try:
        packets = [p for p in container.demux(stream) if p.size]
    except av.error.FFmpegError as exc:
        raise ClipError(f"segment {segment.seq}: cannot demux: {exc}") from exc
    first = next((p for p in packets if p.is_keyframe and p.pts is not None), None)
    if first is None:
        return []
    assert first.pts is not None
    origin, base = segment.start - segment.lead, first.pts
    units: list[_Unit] = []
    for p in _whole(packets):
        if p.pts is not None:
            units.append(_Unit(origin + float((p.pts - base) * tb), bool(p.is_keyframe), p))
    return units


def _whole(packets: list[av.Packet]) -> Iterator[av.Packet]:
    """Packets with an untimed piece (a frame the demuxer split) joined to it."""
    held: av.Packet | None = None
    for p in packets:
        if held is not None and p.pts is None:
            joined = av.Packet(bytes(held) + bytes(p))
            joined.pts, joined.dts, joined.is_keyframe = held.pts, held.dts, held.is_keyframe
            held = joined
            continue
        if held is not None:
            yield held
        held = p
    if held is not None:
        yield held


def _overlaps(segment: Segment, p: Plan[_Unit]) -> bool:
    return segment.end > p.origin and segment.start - segment.lead < p.origin + _stream_span(p)


def _stream_span(p: Plan[_Unit]) -> float:
    return max(u.t for u in p.units) + p.step - p.origin


def _mux(p: Plan[_Unit], template: av.VideoStream) -> bytes:
    """Packets as they are into a faststart MP4 (written to a file: moving the index
    up front rereads what was written)."""
    stamps = restamp(p.times, TIME_BASE)
    lead = stamps[0][0]  # B-frames: DTS starts this far before the first frame is shown
    step = max(1, round(p.step / TIME_BASE))
    with tempfile.TemporaryDirectory(prefix="feedwatch-clip-") as tmp:
        path = Path(tmp) / "clip.mp4"
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream_from_template(template)
            for u, (pts, dts) in zip(p.units, stamps, strict=True):
                packet = u.packet
                packet.stream = stream
                packet.time_base = TIME_BASE
                packet.pts, packet.dts, packet.duration = pts - lead, dts - lead, step
                out.mux(packet)
        return path.read_bytes()

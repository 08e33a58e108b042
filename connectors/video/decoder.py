"""Segment bytes → sampled RGB frames (keyframe-only fast path when it suffices)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import av
import av.error
import numpy as np

from connectors.video.carry import CACHE, CarryCache, fresh_codec
from connectors.video.demux import (
    CAMERA_CODECS,
    MAX_PIXELS,
    Demuxed,
    check_size,
    demux,
    open_segment,
)
from connectors.video.pixels import upright_pictures
from connectors.video.runs import minimal_runs, split_gops
from connectors.video.sampling import SampleClock, keyframes_suffice
from pipeline.errors import DecodeError
from pipeline.types import Frame, Segment

log = logging.getLogger(__name__)
__all__ = ["CAMERA_CODECS", "MAX_PIXELS", "DecodeStats", "carried_share", "decode_segment",
           "plan_for"]


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
    with open_segment(segment) as container:
        d = demux(segment, container)
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
    with open_segment(segment) as container:
        return _choose(demux(segment, container), fps)


def carried_share(segment: Segment) -> float:
    """Share of the video payload carried before ``segment.start`` (0: keyframe-aligned)."""
    if segment.lead <= 0:
        return 0.0
    with open_segment(segment) as container:
        d = demux(segment, container)
        total = sum(p.size for p in d.packets)
        return sum(p.size for p in d.packets if not d.own(p)) / total if total else 0.0


def _choose(d: Demuxed, fps: float) -> str:
    kf = d.keyframe_times()
    seg = d.segment
    if seg.lead > 0 or not kf:
        return "runs"
    end = seg.end if seg.duration > 0 else max(kf) + 1.0 / fps
    return "keyframes" if keyframes_suffice(kf, end, fps) else "runs"


@dataclass
class _Feed:
    """Packets for one decoder; ``keep``: hand the decoder to the carry cache afterwards
    (with the times of every packet of its GOP fed so far) instead of draining it."""

    codec: av.CodecContext
    packets: list[av.Packet]
    keep: list[float | None] | None = None


def _decode(d: Demuxed, clock: SampleClock, plan: str, stats: DecodeStats,
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


def _fed(feed: _Feed, d: Demuxed, wanted: set[int] | None,
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


def _run_feeds(d: Demuxed, codec: av.CodecContext, wanted: set[int],
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


def _wanted_pts(d: Demuxed, clock: SampleClock) -> set[int]:
    """PTS of the own frames on the sampling grid: the first frame of every cell."""
    shown = sorted({int(p.pts) for p in d.packets if p.pts is not None}, key=d.time)
    own = [pts for pts in shown if d.time(pts) >= d.segment.start - 1e-6]
    before = [d.time(pts) for pts in shown if d.time(pts) < d.segment.start - 1e-6]
    prev = before[-1] if before else _prev_candidate(d, False)
    return {own[i] for i in clock.select([d.time(pts) for pts in own], prev)}


def _prev_candidate(d: Demuxed, fast: bool) -> float | None:
    """Where the previous segment's last candidate frame lies; None for a stream's first
    segment (seq 0, nothing carried): its first frame opens its cell, or the stream's
    first cell — and a window ending there — would have no frame."""
    if d.segment.seq == 0 and d.segment.lead <= 0:
        return None
    return d.segment.start - _step_before(d, fast)


def _step_before(d: Demuxed, fast: bool) -> float:
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
    check_size(segment, frame.width, frame.height)  # the size may change mid-stream
    rgb, thumb = upright_pictures(frame, segment.rotation)
    return Frame(segment.camera, t, rgb, segment.seq, bool(frame.key_frame), thumb)

"""Timestamped packets and the timeline that anchors stream PTS on UTC time.

Times are epoch seconds. A live source anchors the stream's own PTS on the wall
clock at its first packet (``t = wall_at_first + (pts - pts_first) · time_base``); a
plain file anchors on 0.0 (``t`` = seconds from the start of the file); a paced file
anchors on the wall clock at open. Timestamp jumps (PTS wrap, a camera restarting its
clock) re-anchor so that time keeps running forward.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import av

log = logging.getLogger(__name__)
MAX_BACKSTEP_S = 1.0
"""Without DTS: PTS may step back by a few frames (B-frame reordering); more is a
discontinuity. With DTS any step back of the decode order is one."""
JUMP_EVENT_S = 10.0
"""Re-anchors less than this many seconds of stream time apart are one event, logged once."""
ERRATIC_JUMPS = 5
"""Re-anchors in one event that make its timestamps erratic (two senders on one UDP
port, a broken encoder): a warning, repeated every ``ERRATIC_REMIND_S`` while it lasts."""
ERRATIC_REMIND_S = 60.0


@dataclass(frozen=True)
class StreamInfo:
    """What a segment needs to know about the video stream."""

    codec: str
    width: int
    height: int
    fps: float  # average frame rate; 0.0 when the stream does not say
    time_base: Fraction


@dataclass(frozen=True)
class TimedPacket:
    """One demuxed packet with its presentation time ``t`` (see module doc)."""

    packet: av.Packet
    t: float
    keyframe: bool
    duration: float  # seconds; 0.0 when unknown
    size: int


@dataclass(eq=False)
class JumpLog:
    """Reports a camera's timestamp jumps: one line per event (re-anchors closer than
    ``JUMP_EVENT_S`` of stream time are one), naming the camera and what jumped, and a
    warning when an event goes on jumping (``ERRATIC_JUMPS``), not a line per packet."""

    camera: str = ""
    _last: float | None = field(default=None, init=False, repr=False)
    _count: int = field(default=0, init=False, repr=False)
    _began: float = field(default=0.0, init=False, repr=False)
    _warned: float | None = field(default=None, init=False, repr=False)

    def jumped(self, pts: tuple[int | None, int], by: float, at: float) -> None:
        """PTS went from ``pts[0]`` to ``pts[1]``, ``by`` seconds from the previous
        packet's time; the timeline re-anchored at ``at``."""
        if self._last is None or at - self._last >= JUMP_EVENT_S:
            self._count, self._began, self._warned = 0, at, None
            log.info("camera %s: timestamps jumped by %+.3f s (pts %s -> %s): re-anchored at "
                     "%.3f, one frame after the latest picture", self.camera or "?", by,
                     pts[0], pts[1], at)
        self._last, self._count = at, self._count + 1
        due = self._warned is None or at - self._warned >= ERRATIC_REMIND_S
        if self._count >= ERRATIC_JUMPS and due:
            self._warned = at
            log.warning("camera %s: %d timestamp jumps in %.1f s of stream time: its "
                        "timestamps go back and forth (two senders on one port? a broken "
                        "encoder?); each jump goes on one frame after the latest picture, "
                        "and the camera's time is held to the wall clock",
                        self.camera or "?", self._count, at - self._began)


@dataclass(eq=False)
class Timeline:
    """Turns PTS values into times; re-anchors when PTS jumps forward by more than
    ``max_jump``, or the decode order steps back: DTS lower than the previous packet's
    (a looped or spliced stream), or without DTS, PTS back by more than
    ``MAX_BACKSTEP_S`` (``max_jump=None``: never). A PTS far back with DTS running on is
    a B-frame shown before a later picture (reordering across a pause), not a jump."""

    time_base: Fraction
    _: KW_ONLY
    anchor: float | None
    origin_pts: int | None = None
    max_jump: float | None = None
    not_before: float | None = None
    now: Callable[[], float] = time.time
    camera: str = ""  # names the camera in the log
    _last: float | None = field(default=None, init=False, repr=False)
    _last_pts: int | None = field(default=None, init=False, repr=False)
    _jumps: JumpLog = field(init=False, repr=False)
    _latest: float | None = field(default=None, init=False, repr=False)  # latest shown
    _step: float = field(default=0.0, init=False, repr=False)
    _last_dts: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._jumps = JumpLog(self.camera)

    def at(self, pts: int | None, duration: float = 0.0, dts: int | None = None) -> float:
        """The time of a packet with this PTS (``None``: just after the previous one)."""
        if duration > 0:
            self._step = duration
        if pts is None:
            return self._remember(self._next_guess())
        if self.anchor is None:
            self.anchor = self._wall()
        if self.origin_pts is None:
            self.origin_pts = pts
            if self._latest is not None:  # untimed packets came first: go on after them
                self.anchor = self._next_guess()
        t = self._map(pts)
        if self._jumped(t, dts):
            t = self._reanchor(pts, t)
        if dts is not None:
            self._last_dts = dts
        self._last_pts = pts
        return self._remember(t)

    def _map(self, pts: int) -> float:
        assert self.anchor is not None and self.origin_pts is not None
        return self.anchor + float((pts - self.origin_pts) * self.time_base)

    def _jumped(self, t: float, dts: int | None) -> bool:
        if self.max_jump is None or self._last is None:
            return False
        if t > self._last + self.max_jump:
            return True
        if dts is not None and self._last_dts is not None:
            return dts < self._last_dts
        return t < self._last - MAX_BACKSTEP_S

    def _reanchor(self, pts: int, mapped: float) -> float:
        t = self._next_guess()
        self._jumps.jumped((self._last_pts, pts), mapped - (self._last or 0.0), t)
        self.anchor, self.origin_pts = t, pts
        return t

    def _next_guess(self) -> float:
        """One frame after the latest picture so far (not the last in decode order: with
        B-frames that one is shown earlier, and a re-anchor there would give the next
        pictures times already used)."""
        if self._latest is None:
            return self.anchor if self.anchor is not None else self._wall()
        return self._latest + self._step

    def _wall(self) -> float:
        """Wall clock, but never before ``not_before`` (time keeps increasing across
        reconnects even when the previous connection ran ahead of the clock)."""
        now = self.now()
        return now if self.not_before is None else max(now, self.not_before)

    def _remember(self, t: float) -> float:
        self._last = t
        self._latest = t if self._latest is None else max(self._latest, t)
        return t


def packet_seconds(packet: av.Packet, time_base: Fraction) -> float:
    """A packet's duration in seconds (0.0 when the container does not say)."""
    return float(packet.duration * time_base) if packet.duration else 0.0

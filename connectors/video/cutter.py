"""Where segments end: pure logic on packet time, keyframe flag and size.

A segment is cut when it reaches the ``target`` length, at a keyframe or — with
``mid_gop`` (the default) — at any *clean* packet inside a GOP: one whose time is
past every packet before it, so no frame on one side of the cut is displayed on the
other (with B-frames that is a reference frame). A mid-GOP segment carries the
packets from its GOP's keyframe up to the cut as a *prefix*, so it still decodes on
its own; ``start`` is where its own frames begin and ``lead`` how far before that
the carried keyframe lies. Segment latency is then the target, whatever the camera's
keyframe interval; the price is the prefix (bytes sent, frames decoded again).
Without ``mid_gop`` segments follow the keyframes, as long as the GOPs are.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

TS_PACKET, TS_PAYLOAD = 188, 184
PER_FRAME = 19 + 6 + 8
"""Bytes a frame gains in MPEG-TS: PES header with PTS/DTS, access unit delimiter, PCR."""
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


@dataclass(frozen=True)
class Cut(Generic[P]):
    """One segment's packets in decode order: ``packets[:own]`` is the prefix carried
    from the keyframe, ``packets[own:]`` the segment's own; own time ``[start, start +
    duration)``."""

    packets: list[P]
    own: int
    start: float
    duration: float

    @property
    def lead(self) -> float:
        """Seconds from the carried keyframe to ``start`` (0: starts at a keyframe)."""
        return max(self.start - self.packets[0].t, 0.0) if self.own else 0.0

    @property
    def prefix_bytes(self) -> int:
        return sum(p.size for p in self.packets[: self.own])


def ts_size_estimate(packets: Sequence[Timed], duration: float) -> int:
    """Upper-bound estimate of the MPEG-TS size of these packets (PES + PAT/PMT overhead)."""
    payload = sum(math.ceil((p.size + PER_FRAME) / TS_PAYLOAD) for p in packets) * TS_PACKET
    tables = 2 * TS_PACKET * (2 + math.ceil(max(duration, 0.0) * 10))
    return payload + tables


class Cutter(Generic[P]):
    """Groups packets (decode order) into :class:`Cut` objects: at ``target`` seconds,
    and before a packet would push a segment past ``max_bytes`` (0: no limit)."""

    def __init__(self, target: float = 2.0, max_bytes: int = 0, *, camera: str = "",
                 mid_gop: bool = True) -> None:
        if not target > 0:
            raise ConfigError("segment_seconds", target, "must be > 0")
        if max_bytes < 0:
            raise ConfigError("max_segment_bytes", max_bytes, "must be >= 0 (0: no limit)")
        self.target, self.max_bytes, self.camera, self.mid_gop = target, max_bytes, camera, mid_gop
        self._gop: list[P] = []  # every packet since the current GOP's keyframe
        self._prefix: list[P] = []  # carried packets of the open segment
        self._own: list[P] = []  # the open segment's own packets
        self._start = 0.0  # where the open segment's clock starts
        self._max_t = -math.inf  # latest packet time seen in the open GOP
        self._run = self._run_max = 0  # TS bytes since the last clean packet; the most seen
        self._warned: set[str] = set()
        self.dropped = 0

    def push(self, p: P) -> list[Cut[P]]:
        """Add one packet (decode order); returns the segments it completed."""
        if not self._gop and not p.keyframe:
            self.dropped += 1  # nothing decodes before the first keyframe
            return []
        done: list[Cut[P]] = []
        clean = self._clean(p)
        if clean:
            self._run_max, self._run = max(self._run_max, self._run), 0
        if self._own and clean and (self._long_enough(p) or self._too_big(p)):
            done.append(self._close(p))
        self._run += math.ceil((p.size + PER_FRAME) / TS_PAYLOAD) * TS_PACKET
        if p.keyframe:
            self._note_gop(p.t)
            self._gop, self._max_t = [], -math.inf
        if not self._own:
            self._start = p.t if p.keyframe else self._start
        self._gop.append(p)
        self._own.append(p)
        self._max_t = max(self._max_t, p.t)
        return done

    def drain(self) -> list[Cut[P]]:
        """End of stream (or of a connection): whatever is buffered becomes the last
        segment, and the GOP is forgotten. A new connection's packets never join the old
        one's GOP: they start at its own first keyframe (a connection that resumed
        mid-GOP was muxed on the closed one's stream, and ended the camera)."""
        done = [self._emit(self._end_guess(self._own))] if self._own else []
        self._gop, self._prefix, self._own, self._max_t = [], [], [], -math.inf
        return done

    def _clean(self, p: P) -> bool:
        return p.keyframe or (self.mid_gop and p.t > self._max_t + 1e-9)

    def _long_enough(self, p: P) -> bool:
        return self._end_before(p) - self._start >= self.target - EPS

    def _end_before(self, p: P) -> float:
        """Where the open segment would end if cut before ``p``: with B-frames a clean
        packet can show later than frames that come after it in decode order."""
        return p.t if p.keyframe else min(p.t, self._max_t + self._step(self._own))

    def _too_big(self, p: P) -> bool:
        """Would the open segment grow past ``max_bytes`` before the next chance to cut?
        The run ``p`` starts (a GOP, or mid-GOP the frames up to the next clean packet)
        is assumed as large as the largest such run so far."""
        if self.max_bytes <= 0:
            return False
        if self.mid_gop:
            packets = [*self._prefix, *self._own]
            ahead = self._run_max
        else:
            packets, ahead = [*self._own, *self._gop], 0
        return ts_size_estimate(packets, p.t - packets[0].t) + ahead > self.max_bytes

    def _close(self, p: P) -> Cut[P]:
        """Emit the open segment before ``p``; the next one starts at ``p``."""
        end = self._end_before(p)
        cut = self._emit(end)
        if not p.keyframe:
            self._prefix, self._start = list(self._gop), end
            self._check_prefix()
        return cut

    def _emit(self, end: float) -> Cut[P]:
        packets = [*self._prefix, *self._own]
        start = min(x.t for x in self._own) if self._prefix else self._start
        cut = Cut(packets, len(self._prefix), start, max(end - start, 0.0))
        self._prefix, self._own = [], []
        return cut

    def _note_gop(self, next_t: float) -> None:
        if not self._gop:
            return
        gop = next_t - self._gop[0].t
        if gop > self.target + EPS and not self.mid_gop:
            self._warn_once("gop", "keyframe interval %.2fs exceeds the %.2fs segment target; "
                            "segments follow the keyframes", gop, self.target)
        elif gop > self.target + EPS:
            self._warn_once("gop", "keyframe interval %.2fs exceeds the %.2fs segment target; "
                            "segments are cut mid-GOP and carry the packets since the keyframe",
                            gop, self.target)

    def _check_prefix(self) -> None:
        if self.max_bytes and ts_size_estimate(self._prefix, 0.0) > self.max_bytes:
            self._warn_once("size", "the packets since the last keyframe exceed "
                            "max_segment_bytes=%d; a GOP cannot be split further without "
                            "re-encoding (try transcode mode)", self.max_bytes)

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("camera %s: " + msg, self.camera, *args)

    @staticmethod
    def _step(packets: Sequence[Timed]) -> float:
        last = max(packets, key=lambda p: p.t)
        return last.duration or _median_step(packets) or 0.04

    @classmethod
    def _end_guess(cls, packets: Sequence[Timed]) -> float:
        return max(p.t for p in packets) + cls._step(packets)


def _median_step(packets: Sequence[Timed]) -> float:
    times = sorted(p.t for p in packets)
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    return steps[len(steps) // 2] if steps else 0.0

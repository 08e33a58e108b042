"""A bounded per-camera ring of recent segments: the embedded run's recording.

In Kafka mode the ``segments`` topic keeps every camera's segments for its retention
time; an embedded run has no such log, so the clip cutter reads this ring instead.
Each camera keeps the segments of its last ``seconds`` of stream time, and at most
``max_bytes`` of them. A *hold* keeps the segments of a time range past those
bounds (an open incident's beginning, which its closing clip still needs) until it
is released; held segments count against a separate ``hold_bytes`` budget, oldest
holds giving way first. Thread-safe: sources add, the clip worker reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.types import Segment


@dataclass(frozen=True)
class Hold:
    camera: str
    start: float
    end: float


class SegmentRing:
    """Recent segments per camera, plus held ranges (see module doc)."""

    def __init__(self, seconds: float = 120.0, max_bytes: int = 64 << 20,
                 hold_bytes: int = 64 << 20) -> None:
        if not seconds > 0:
            raise ConfigError("clips.ring_s", seconds, "must be > 0")
        if max_bytes < 1 or hold_bytes < 0:
            raise ConfigError("clips.ring_bytes", max_bytes, "must be >= 1")
        self.seconds, self.max_bytes, self.hold_bytes = seconds, max_bytes, hold_bytes
        self._recent: dict[str, deque[Segment]] = {}
        self._bytes: dict[str, int] = {}
        self._held: dict[str, list[Segment]] = {}  # camera -> segments kept for holds
        self._holds: OrderedDict[str, Hold] = OrderedDict()
        self._lock = threading.Lock()
        self.ended: set[str] = set()

    def add(self, segment: Segment) -> None:
        """A new segment of its camera (stream order)."""
        with self._lock:
            ring = self._recent.setdefault(segment.camera, deque())
            ring.append(segment)
            self._bytes[segment.camera] = self._bytes.get(segment.camera, 0) + len(segment.data)
            self._expire(segment.camera)

    def end(self, camera: str) -> None:
        """The camera's stream ended: nothing later will come (a file's end)."""
        with self._lock:
            self.ended.add(camera)

    def newest_end(self, camera: str) -> float | None:
        """Stream time the camera's newest segment ends at (None: nothing yet)."""
        with self._lock:
            ring = self._recent.get(camera)
            return ring[-1].end if ring else None

    def reached(self, camera: str, t: float) -> bool:
        """Segments up to stream time ``t`` are here, or never will be (stream ended)."""
        newest = self.newest_end(camera)
        return camera in self.ended or (newest is not None and newest >= t)

    def oldest_start(self, camera: str) -> float | None:
        with self._lock:
            kept = [*self._held.get(camera, ()), *self._recent.get(camera, ())]
            return min((s.start - s.lead for s in kept), default=None)

    def covering(self, camera: str, start: float, end: float) -> list[Segment]:
        """The camera's segments that overlap ``[start, end]`` (their carried prefix
        counted), oldest first; a segment kept twice is returned once."""
        with self._lock:
            kept = [*self._held.get(camera, ()), *self._recent.get(camera, ())]
        out: dict[tuple[float, int], Segment] = {}
        for s in kept:
            if s.end > start and s.start - s.lead <= end:
                out.setdefault((s.start, s.seq), s)
        return [out[k] for k in sorted(out)]

    def hold(self, key: str, camera: str, start: float, end: float) -> None:
        """Keep the camera's segments overlapping ``[start, end]`` until ``release``."""
        with self._lock:
            self._holds[key] = Hold(camera, start, end)
            self._holds.move_to_end(key)
            self._trim_held()

    def release(self, key: str) -> None:
        with self._lock:
            hold = self._holds.pop(key, None)
            if hold is not None:
                self._held[hold.camera] = [s for s in self._held.get(hold.camera, ())
                                           if self._is_held(s)]

    def _expire(self, camera: str) -> None:
        ring = self._recent[camera]
        newest = ring[-1].end
        while len(ring) > 1 and (ring[0].end < newest - self.seconds
                                 or self._bytes[camera] > self.max_bytes):
            old = ring.popleft()
            self._bytes[camera] -= len(old.data)
            if self._is_held(old):
                self._held.setdefault(camera, []).append(old)
        self._trim_held()

    def _is_held(self, s: Segment) -> bool:
        return any(h.camera == s.camera and s.end > h.start and s.start - s.lead <= h.end
                   for h in self._holds.values())

    def _trim_held(self) -> None:
        """Past ``hold_bytes``, the oldest holds give way (their segments dropped)."""
        while self._held_bytes() > self.hold_bytes and self._holds:
            self._holds.popitem(last=False)
            for camera, kept in self._held.items():
                self._held[camera] = [s for s in kept if self._is_held(s)]

    def _held_bytes(self) -> int:
        return sum(len(s.data) for kept in self._held.values() for s in kept)

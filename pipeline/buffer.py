"""Rolling per-camera buffers of encoded frames.

A :class:`FrameBuffer` keeps one camera's :class:`EncodedFrame` objects in time order
under three caps: a time ``horizon`` (frames older than the newest minus the horizon
are evicted), a frame cap and a memory cap (bytes of embeddings + thumbnails). What
happens when a cap is hit is the :class:`OverflowPolicy`: ``DROP_OLDEST`` (live
default: the newest evidence matters) or ``DROP_NEWEST`` (keep what is already there;
the incoming frame is refused). :meth:`FrameBuffer.window` returns the frames of a
half-open interval ``[start, end)``, the same convention as segments.

The time horizon is measured from the newest frame, but a long segment (a camera
with a 10-s keyframe interval) brings many seconds at once, before the windows over
them are evaluated: :meth:`FrameBuffer.pin` keeps frames from a given time on out of
the horizon's reach until the pin moves (the frame and memory caps still apply).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.types import EncodedFrame


class OverflowPolicy(enum.Enum):
    """What a full buffer does with one more frame."""

    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"

    @classmethod
    def parse(cls, value: str | OverflowPolicy) -> OverflowPolicy:
        if isinstance(value, OverflowPolicy):
            return value
        try:
            return cls(value.lower())
        except ValueError:
            allowed = ", ".join(p.value for p in cls)
            raise ConfigError("buffer.policy", value, f"one of {allowed}") from None


@dataclass(frozen=True)
class BufferLimits:
    """The caps of one camera's buffer."""

    horizon: float = 30.0
    max_frames: int = 600
    max_bytes: int = 256 * 1024 * 1024
    policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST

    def __post_init__(self) -> None:
        if not self.horizon > 0:
            raise ConfigError("buffer.horizon", self.horizon, "a positive number of seconds")
        if self.max_frames < 1:
            raise ConfigError("buffer.max_frames", self.max_frames, "at least 1")
        if self.max_bytes < 1:
            raise ConfigError("buffer.max_bytes", self.max_bytes, "at least 1 byte")


class FrameBuffer:
    """One camera's frames in time order, bounded by time, count and memory."""

    def __init__(self, camera: str, limits: BufferLimits | None = None) -> None:
        self.camera = camera
        self.limits = limits or BufferLimits()
        self._frames: list[EncodedFrame] = []
        self._times: list[float] = []
        self._bytes = 0
        self._pin: float | None = None
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[EncodedFrame]:
        return iter(tuple(self._frames))

    @property
    def nbytes(self) -> int:
        return self._bytes

    @property
    def latest(self) -> float | None:
        return self._times[-1] if self._times else None

    def pin(self, t: float | None) -> None:
        """Frames at ``t`` or later outlive the time horizon (pending windows need them);
        ``None`` releases the pin."""
        self._pin = t

    def add(self, frame: EncodedFrame) -> bool:
        """Insert ``frame`` in time order; ``False`` when a cap made the buffer refuse it."""
        if frame.camera != self.camera:
            raise ValueError(f"frame of camera {frame.camera!r} added to buffer of {self.camera!r}")
        if self._too_old(frame.t):
            self.dropped += 1
            return False
        self._evict_before(self._cutoff(max(frame.t, self.latest or frame.t)))
        if not self._make_room(frame):
            self.dropped += 1
            return False
        i = bisect.bisect_right(self._times, frame.t)
        self._times.insert(i, frame.t)
        self._frames.insert(i, frame)
        self._bytes += frame.nbytes
        return True

    def window(self, start: float, end: float) -> tuple[EncodedFrame, ...]:
        """The frames with ``start <= t < end``, oldest first."""
        lo = bisect.bisect_left(self._times, start)
        hi = bisect.bisect_left(self._times, end)
        return tuple(self._frames[lo:hi])

    def clear(self) -> None:
        self._frames.clear()
        self._times.clear()
        self._bytes = 0

    def _cutoff(self, newest: float) -> float:
        cutoff = newest - self.limits.horizon
        return cutoff if self._pin is None else min(cutoff, self._pin)

    def _too_old(self, t: float) -> bool:
        return bool(self._times) and t < self._cutoff(self._times[-1])

    def _full_with(self, frame: EncodedFrame) -> bool:
        lim = self.limits
        return len(self._frames) + 1 > lim.max_frames or self._bytes + frame.nbytes > lim.max_bytes

    def _make_room(self, frame: EncodedFrame) -> bool:
        if frame.nbytes > self.limits.max_bytes:
            return False
        while self._frames and self._full_with(frame):
            if self.limits.policy is OverflowPolicy.DROP_NEWEST:
                return False
            self._pop_oldest()
        return True

    def _pop_oldest(self) -> None:
        old = self._frames.pop(0)
        self._times.pop(0)
        self._bytes -= old.nbytes
        self.dropped += 1

    def _evict_before(self, cutoff: float) -> None:
        while self._times and self._times[0] < cutoff:
            self._pop_oldest()


class BufferSet:
    """One :class:`FrameBuffer` per camera, created on first use with shared limits."""

    def __init__(self, limits: BufferLimits | None = None) -> None:
        self.limits = limits or BufferLimits()
        self._buffers: dict[str, FrameBuffer] = {}

    def __getitem__(self, camera: str) -> FrameBuffer:
        if camera not in self._buffers:
            self._buffers[camera] = FrameBuffer(camera, self.limits)
        return self._buffers[camera]

    def __contains__(self, camera: object) -> bool:
        return camera in self._buffers

    def cameras(self) -> list[str]:
        return sorted(self._buffers)

    def set_limits(self, limits: BufferLimits) -> None:
        """New caps for every buffer, existing ones included (they apply from the next add)."""
        self.limits = limits
        for buffer in self._buffers.values():
            buffer.limits = limits

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self._buffers.values())

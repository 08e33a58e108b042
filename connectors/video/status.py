"""Stream status: an enum with explicit allowed transitions, the events it emits, and
what the stream measurably is (codec, size, keyframe interval, frame rate)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from connectors.video.base import InvalidTransition, StatusObserver

log = logging.getLogger(__name__)


class StreamStatus(StrEnum):
    """Where a camera's stream stands (shown on the dashboard)."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    ENDED = "ended"

    def can_become(self, other: StreamStatus) -> bool:
        return other in ALLOWED[self]


ALLOWED: dict[StreamStatus, frozenset[StreamStatus]] = {
    StreamStatus.CONNECTING: frozenset(
        {StreamStatus.CONNECTED, StreamStatus.RECONNECTING, StreamStatus.ENDED}),
    StreamStatus.CONNECTED: frozenset(
        {StreamStatus.STALLED, StreamStatus.RECONNECTING, StreamStatus.ENDED}),
    StreamStatus.STALLED: frozenset(
        {StreamStatus.CONNECTED, StreamStatus.RECONNECTING, StreamStatus.ENDED}),
    StreamStatus.RECONNECTING: frozenset(
        {StreamStatus.CONNECTED, StreamStatus.RECONNECTING, StreamStatus.ENDED}),
    StreamStatus.ENDED: frozenset(),
}
"""RECONNECTING may repeat (one event per failed attempt); ENDED is final."""


@dataclass(frozen=True)
class StatusEvent:
    """One status change of one camera at UTC epoch time ``at``."""

    camera: str
    state: StreamStatus
    at: float
    detail: str = ""


class StatusTracker:
    """Holds a camera's current status and publishes every allowed change."""

    def __init__(self, camera: str, observer: StatusObserver | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.camera = camera
        self.state = StreamStatus.CONNECTING
        self.events: list[StatusEvent] = []
        self._observer = observer
        self._clock = clock

    def start(self, detail: str = "") -> None:
        """Publish the initial CONNECTING state."""
        self._publish(StatusEvent(self.camera, self.state, self._clock(), detail))

    def move(self, state: StreamStatus, detail: str = "") -> StatusEvent:
        """Change state; an illegal change raises ``InvalidTransition``."""
        if not self.state.can_become(state):
            raise InvalidTransition(f"camera {self.camera!r}: {self.state.value} -> {state.value}")
        self.state = state
        event = StatusEvent(self.camera, state, self._clock(), detail)
        self._publish(event)
        return event

    def _publish(self, event: StatusEvent) -> None:
        self.events.append(event)
        log.info("camera %s: %s %s", event.camera, event.state.value, event.detail)
        if self._observer is None:
            return
        try:
            self._observer(event)
        except Exception:  # an observer bug must not kill ingest; it is logged
            log.exception("camera %s: status observer failed", self.camera)


@dataclass(frozen=True)
class StreamProfile:
    """What a camera's stream measurably is; ``None`` until enough packets were seen."""

    codec: str
    width: int
    height: int
    fps: float | None  # frames per second of stream time, measured
    gop_s: float | None  # mean keyframe interval (s), measured; None before two keyframes

    def describe(self) -> str:
        fps = f"{self.fps:.1f} fps" if self.fps else "fps ?"
        gop = f"GOP {self.gop_s:.2f}s" if self.gop_s else "GOP ?"
        return f"{self.codec} {self.width}x{self.height} {fps} {gop}"


class StreamMeter:
    """Measures frame rate and keyframe interval from packet times (decode order),
    over the last ``span`` packets and ``keyframes`` keyframes."""

    def __init__(self, span: int = 250, keyframes: int = 8) -> None:
        self.codec, self.width, self.height = "", 0, 0
        self._times: deque[float] = deque(maxlen=span)
        self._keys: deque[float] = deque(maxlen=keyframes)

    def connected(self, codec: str, width: int, height: int) -> None:
        """A (new) connection: its codec and coded size."""
        self.codec, self.width, self.height = codec, width, height

    def add(self, t: float, keyframe: bool) -> None:
        if self._times and t < self._times[-1] - 1.0:  # re-anchored clock: start afresh
            self._times.clear()
            self._keys.clear()
        self._times.append(t)
        if keyframe:
            self._keys.append(t)

    @property
    def profile(self) -> StreamProfile:
        return StreamProfile(self.codec, self.width, self.height, self._fps(), self._gop())

    def _fps(self) -> float | None:
        """1 / the median frame interval (presentation order; robust to B-frame order)."""
        times = sorted(self._times)
        steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
        return round(1.0 / steps[len(steps) // 2], 3) if steps else None

    def _gop(self) -> float | None:
        if len(self._keys) < 2:
            return None
        return round((self._keys[-1] - self._keys[0]) / (len(self._keys) - 1), 3)

"""Stream status: an enum with explicit allowed transitions, and the events it emits."""

from __future__ import annotations

import logging
import time
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

"""In-process live state the API reads: camera stream status and new-answer wake-ups.

Both are fed by whoever runs beside the API (the embedded run; in Kafka mode the
status topic, see :mod:`workers.api.status_follow`) and are safe to update from any
thread. Without them the API still works: camera
status falls back to what the store knows and the SSE stream polls the store.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from workers.ops.metrics import CAMERA_UP


@dataclass(frozen=True)
class CameraLive:
    """What is known right now about one camera's stream."""

    camera: str
    status: str = "unknown"
    status_since: float | None = None
    last_segment_at: float | None = None
    detail: str | None = None
    heard_at: float | None = None  # when a remote reporter (ingest) last spoke, epoch s
    stream: dict[str, Any] | None = None  # codec, width, height, fps, gop_s as measured


def _state_name(event: Any) -> str:
    state = getattr(event, "state", None) or getattr(event, "status", None) or "unknown"
    return str(getattr(state, "value", state)).lower()


def _event_time(event: Any) -> float:
    for name in ("at", "t", "time", "timestamp"):
        value = getattr(event, name, None)
        if isinstance(value, int | float):
            return float(value)
    return time.time()


class CameraStatusRegistry:
    """Latest status per camera; ``observe`` is a video ``StatusObserver``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cameras: dict[str, CameraLive] = {}

    def _put(self, camera: str, **changes: Any) -> None:
        with self._lock:
            current = self._cameras.get(camera, CameraLive(camera))
            self._cameras[camera] = replace(current, **changes)

    def observe(self, event: Any) -> None:
        """Record a stream status event (camera, state, time, reason)."""
        state = _state_name(event)
        detail = getattr(event, "reason", None) or getattr(event, "detail", None)
        self.set_status(str(event.camera), state, _event_time(event), detail)

    def set_status(
        self, camera: str, state: str, at: float | None = None, detail: str | None = None
    ) -> None:
        self._put(
            camera, status=state, status_since=at if at is not None else time.time(), detail=detail
        )
        CAMERA_UP.labels(camera=camera).set(1.0 if state == "connected" else 0.0)

    def saw_segment(self, camera: str, end: float) -> None:
        """A segment of ``camera`` ending at ``end`` (epoch s) was produced."""
        with self._lock:
            current = self._cameras.get(camera, CameraLive(camera))
            newest = max(end, current.last_segment_at or end)
            self._cameras[camera] = replace(current, last_segment_at=newest)

    def saw_stream(self, camera: str, **profile: Any) -> None:
        """What the camera's stream is (codec, size; fps and GOP when measured)."""
        self._put(camera, stream={k: v for k, v in profile.items() if v is not None})

    def heard(self, camera: str, at: float) -> None:
        """The camera's remote reporter (an ingest process) spoke at ``at``."""
        self._put(camera, heard_at=at)

    def forget(self, camera: str) -> None:
        """Drop a camera (its status record was deleted)."""
        with self._lock:
            self._cameras.pop(camera, None)
        CAMERA_UP.labels(camera=camera).set(0.0)

    def get(self, camera: str) -> CameraLive | None:
        with self._lock:
            return self._cameras.get(camera)

    def all(self) -> dict[str, CameraLive]:
        with self._lock:
            return dict(self._cameras)


class AnswerNotifier:
    """Wakes SSE streams when an answer is stored (call ``notify`` from any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop closed under us: nobody is listening
                self._discard((loop, event))

    def _discard(self, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(waiter)

    async def wait(self, timeout: float) -> bool:
        """True when notified within ``timeout`` seconds, False on timeout."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._discard(waiter)

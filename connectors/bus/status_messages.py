"""The ``status`` contract: the latest stream status of each camera.

``status`` (compacted)
    key = camera id; value = JSON snapshot of a :class:`CameraStatus` with a
    ``schema`` field (and a ``schema`` header) holding
    :data:`connectors.bus.messages.SCHEMA_VERSION`; ``None`` = tombstone (the camera
    is gone). Each message is a whole snapshot, never a delta, so compaction may
    keep only the newest one per camera.

An ingest process publishes a snapshot on every status change (connecting,
connected, stalled, reconnecting, ended) and after every segment; the API follows
the topic to show live camera state in Kafka mode. Times are UTC epoch seconds,
except ``last_segment_at``, which is the stream time of the newest segment's end
(epoch for live sources and paced files, seconds from the start for plain files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from connectors.bus.messages import (
    SCHEMA_VERSION,
    HeadersIn,
    Message,
    _dump,
    _field,
    _json,
    _key,
    _optional,
    _schema_header,
)
from pipeline.errors import MessageError

STATES = frozenset({"connecting", "connected", "stalled", "reconnecting", "ended"})
"""The stream states of :class:`connectors.video.status.StreamStatus`, as text."""


@dataclass(frozen=True)
class CameraStatus:
    """One camera's stream as its ingest process last reported it."""

    camera: str
    state: str
    since: float
    updated_at: float
    detail: str = ""
    last_segment_at: float | None = None
    last_segment_seq: int | None = None
    segments: int = 0


def encode_camera_status(status: CameraStatus) -> Message:
    """A snapshot for the compacted ``status`` topic, keyed by camera."""
    body: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "camera": status.camera,
        "state": status.state,
        "since": status.since,
        "updated_at": status.updated_at,
        "detail": status.detail,
        "last_segment_at": status.last_segment_at,
        "last_segment_seq": status.last_segment_seq,
        "segments": status.segments,
    }
    return Message(status.camera.encode(), _dump(body), [_schema_header()])


def encode_camera_status_tombstone(camera: str) -> Message:
    """The tombstone that removes a camera from the compacted topic."""
    return Message(camera.encode(), None, [_schema_header()])


def _time(body: dict[str, Any], name: str, c: str) -> float:
    value = float(_field(body, name, (int, float), c))
    if not math.isfinite(value):
        raise MessageError(f"{c} message: field {name!r} must be finite")
    return value


def decode_camera_status(
    key: bytes | None, value: bytes | None, headers: HeadersIn = None
) -> tuple[str, CameraStatus | None]:
    """``(camera, status)``; ``status`` is ``None`` for a tombstone."""
    c = "status"
    camera = _key(key, c)
    if value is None:
        return camera, None
    b = _json(value, c)
    if _field(b, "camera", str, c) != camera:
        raise MessageError(f"status message: key {camera!r} differs from camera {b['camera']!r}")
    state = _field(b, "state", str, c)
    if state not in STATES:
        raise MessageError(
            f"status message {camera!r}: state {state!r}, not one of {sorted(STATES)}"
        )
    last = _optional(b, "last_segment_at", (int, float), c)  # type: ignore[arg-type]
    if last is not None and not math.isfinite(last):
        raise MessageError(f"status message {camera!r}: last_segment_at must be finite")
    seq = _optional(b, "last_segment_seq", int, c)
    return camera, CameraStatus(
        camera=camera,
        state=state,
        since=_time(b, "since", c),
        updated_at=_time(b, "updated_at", c),
        detail=str(b.get("detail") or ""),
        last_segment_at=None if last is None else float(last),
        last_segment_seq=None if seq is None else int(seq),
        segments=b["segments"] if _is_count(b.get("segments")) else 0,
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0

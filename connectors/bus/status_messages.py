"""The ``status`` contract: the latest stream status of each camera.

``status`` (compacted)
    key = camera id; value = JSON :class:`CameraStatusMessage` (a :class:`CameraStatus`
    with a ``schema`` field, and a ``schema`` header, holding
    :data:`connectors.bus.wire.SCHEMA_VERSION`); ``None`` = tombstone (the camera
    is gone). Each message is a whole snapshot, never a delta, so compaction may
    keep only the newest one per camera.

An ingest process publishes a snapshot on every status change (connecting,
connected, stalled, reconnecting, ended) and after every segment; the API follows
the topic to show live camera state in Kafka mode. Times are UTC epoch seconds,
except ``last_segment_at``, which is the stream time of the newest segment's end
(epoch for live sources and paced files, seconds from the start for plain files).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from connectors.bus.messages import Table
from connectors.bus.wire import SCHEMA_VERSION, Finite, Text, Versioned, Wire

State = Literal["connecting", "connected", "stalled", "reconnecting", "ended"]
STATES = frozenset(get_args(State))
"""The stream states of :class:`connectors.video.status.StreamStatus`, as text."""


class CameraStatus(Wire):
    """One camera's stream as its ingest process last reported it."""

    camera: Text
    state: State
    since: Finite = Field(description="UTC epoch s of the last state change.")
    updated_at: Finite = Field(description="UTC epoch s of this snapshot.")
    detail: str = ""
    last_segment_at: Finite | None = Field(default=None, description="Newest segment's end.")
    last_segment_seq: int | None = None
    segments: int = Field(default=0, ge=0, description="Segments produced so far.")
    codec: str | None = Field(default=None, description="Video codec of the stream.")
    width: int | None = Field(default=None, ge=0, description="Coded frame width (px).")
    height: int | None = Field(default=None, ge=0, description="Coded frame height (px).")
    fps: Finite | None = Field(default=None, ge=0, description="Measured frames per second.")
    gop_s: Finite | None = Field(default=None, ge=0, description="Measured keyframe interval.")


class CameraStatusMessage(Versioned, CameraStatus):
    """The value of a ``status`` record (key = camera id; a null value removes it)."""


STATUS: Table[CameraStatus, CameraStatusMessage] = Table(
    CameraStatusMessage, "status", "camera",
    lambda s: CameraStatusMessage.of(s, schema=SCHEMA_VERSION),
    lambda body: CameraStatus(**body.fields()),
)
encode_camera_status, encode_camera_status_tombstone = STATUS.encode, STATUS.tombstone
decode_camera_status = STATUS.decode

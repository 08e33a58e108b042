"""Camera stream status into the compacted status topic: the ingest side.

:class:`StatusPublisher` is a video ``StatusObserver`` (``observe``) that also hears
about every segment written (``saw_segment``). Each call publishes the camera's
whole :class:`~connectors.bus.status_messages.CameraStatus` snapshot, keyed by
camera, so the compacted topic always holds the latest state. Status is
best-effort: a broker hiccup is logged and never stops ingest; ``close`` marks the
camera ``ended`` if the stream did not say so itself (Ctrl-C, ``--max-segments``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, InitVar, dataclass, field
from typing import Any

from connectors.bus.base import Producer
from connectors.bus.status_messages import CameraStatus, encode_camera_status
from connectors.kafka.admin import status_topic_of
from connectors.kafka.base import KafkaConfig, ProduceError
from connectors.kafka.producer import KafkaBusProducer
from pipeline.types import Segment

log = logging.getLogger(__name__)
PROFILE_FIELDS = ("codec", "width", "height", "fps", "gop_s")


def _state_of(event: Any) -> str:
    state = getattr(event, "state", "unknown")
    return str(getattr(state, "value", state))


@dataclass(eq=False)
class StatusPublisher:
    """Publishes one camera's status snapshots through a ready producer."""

    producer: Producer
    topic: str
    camera: InitVar[str]
    _: KW_ONLY
    flush_timeout: float = 10.0
    clock: Callable[[], float] = time.time
    status: CameraStatus = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self, camera: str) -> None:
        now = self.clock()
        self.status = CameraStatus(camera=camera, state="connecting", since=now, updated_at=now)

    @classmethod
    def from_config(cls, cfg: KafkaConfig, camera: str) -> StatusPublisher:
        """A publisher with its own producer; the status topic must exist."""
        producer = KafkaBusProducer.from_config(cfg, "feedwatch-status")
        return cls(producer, status_topic_of(cfg), camera)

    def observe(self, event: Any) -> None:
        """A ``connectors.video`` StatusEvent: the camera changed state."""
        at = float(getattr(event, "at", None) or self.clock())
        self._update(state=_state_of(event), since=at, detail=str(getattr(event, "detail", "")))

    def saw_segment(self, segment: Segment, profile: Any = None) -> None:
        """A segment of the camera was written to the segments topic; ``profile`` (a
        ``connectors.video.status.StreamProfile``): codec, size, fps and GOP as measured."""
        last = self.status.last_segment_at
        stream = {k: getattr(profile, k) for k in PROFILE_FIELDS} if profile is not None else {}
        self._update(
            last_segment_at=segment.end if last is None else max(last, segment.end),
            last_segment_seq=segment.seq,
            segments=self.status.segments + 1,
            **stream,
        )

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self.status = self.status.replace(updated_at=self.clock(), **changes)
            snapshot = self.status
        self._publish(snapshot)

    def _publish(self, status: CameraStatus) -> None:
        key, value, headers = encode_camera_status(status)
        try:
            self.producer.send(self.topic, key, value, headers)
            self.producer.flush(self.flush_timeout)
        except ProduceError as exc:
            log.warning("camera %s: status %s not published: %s", status.camera, status.state, exc)

    def close(self, detail: str = "ingest stopped") -> None:
        """Publish ``ended`` unless the stream already ended, then release the producer."""
        try:
            if self.status.state != "ended":
                self._update(state="ended", since=self.clock(), detail=detail)
        finally:
            self._close_producer()

    def _close_producer(self) -> None:
        closer = getattr(self.producer, "close", None)
        try:
            if closer is not None:
                closer()
        except ProduceError as exc:
            log.warning("camera %s: status producer closed with %s", self.status.camera, exc)

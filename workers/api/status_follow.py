"""Kafka mode: the compacted status topic, followed into the API's camera registry.

Every ``feedwatch ingest --kafka`` publishes its camera's stream status (see
:mod:`connectors.kafka.status`). The API reads the topic from the beginning with a
group-less consumer — compaction leaves one snapshot per camera, so start-up is
short — and keeps following it from a daemon thread, so ``GET /api/cameras`` shows
live state and last segment time, and queries may name every camera heard of.
A lost broker is retried; a malformed record is logged and skipped.
"""

from __future__ import annotations

import logging
import threading

from connectors.bus.base import Bus, Consumer, Record
from connectors.bus.status_messages import CameraStatus, decode_camera_status
from connectors.retry import RetryPolicy
from pipeline.errors import MessageError
from workers.api.live import CameraStatusRegistry

log = logging.getLogger(__name__)
FOLLOW_RETRY = RetryPolicy(initial=0.5, maximum=10.0)


def apply_status(registry: CameraStatusRegistry, camera: str, status: CameraStatus | None) -> None:
    """One status snapshot (``None`` = the camera was removed) into ``registry``."""
    if status is None:
        registry.forget(camera)
        return
    registry.set_status(camera, status.state, status.since, status.detail or None)
    registry.heard(camera, status.updated_at)
    if status.last_segment_at is not None:
        registry.saw_segment(camera, status.last_segment_at)


class StatusFollower:
    """A daemon thread that applies the status topic to a registry until stopped."""

    def __init__(
        self,
        bus: Bus,
        topic: str,
        registry: CameraStatusRegistry,
        *,
        poll_s: float = 0.5,
        retry: RetryPolicy = FOLLOW_RETRY,
    ) -> None:
        self.bus = bus
        self.topic = topic
        self.registry = registry
        self.poll_s = poll_s
        self.retry = retry
        self.applied = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> StatusFollower:
        self._thread = threading.Thread(target=self._run, name="status-follow", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        what = f"following status topic {self.topic}"
        try:  # the broker away (at start or mid-poll): start over, keep serving
            self.retry.call(self._follow_until_stopped, what, stop=self._stop, logger=log)
        except Exception:
            if not self._stop.is_set():
                log.exception("%s stopped", what)

    def _follow_until_stopped(self) -> None:
        consumer = self.bus.consumer([self.topic], "", from_beginning=True)
        try:
            self._follow(consumer)
        finally:
            consumer.close()

    def _follow(self, consumer: Consumer) -> None:
        while not self._stop.is_set():
            for record in consumer.poll(max_records=500, timeout=self.poll_s):
                self.apply(record)

    def apply(self, record: Record) -> None:
        """Apply one record; a malformed one is logged, never fatal."""
        try:
            camera, status = decode_camera_status(record.key, record.value, record.headers)
        except MessageError as exc:
            log.warning(
                "status record %s[%d]@%d skipped: %s",
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            return
        apply_status(self.registry, camera, status)
        self.applied += 1

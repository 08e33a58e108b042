"""Kafka mode: the compacted status topic, followed into the API's camera registry.

Every ``feedwatch ingest --kafka`` publishes its camera's stream status (see
:mod:`connectors.kafka.status`). The API reads the topic from the beginning with a
group-less consumer — compaction leaves one snapshot per camera, so start-up is
short — and keeps following it (the :class:`~connectors.bus.follow.CompactedFollower`
the perception worker follows ``queries`` with), so ``GET /api/cameras`` shows
live state and last segment time, and queries may name every camera heard of.
A lost broker is retried; a malformed record is logged and skipped.
"""

from __future__ import annotations

import logging

from connectors.bus.base import Bus, Record
from connectors.bus.follow import FOLLOW_RETRY, CompactedFollower
from connectors.bus.status_messages import CameraStatus, decode_camera_status
from connectors.kafka.status import PROFILE_FIELDS
from connectors.retry import RetryPolicy
from pipeline.errors import MessageError
from workers.api.live import CameraStatusRegistry

log = logging.getLogger(__name__)


def apply_status(registry: CameraStatusRegistry, camera: str, status: CameraStatus | None) -> None:
    """One status snapshot (``None`` = the camera was removed) into ``registry``."""
    if status is None:
        registry.forget(camera)
        return
    registry.set_status(camera, status.state, status.since, status.detail or None)
    registry.heard(camera, status.updated_at)
    if status.last_segment_at is not None:
        registry.saw_segment(camera, status.last_segment_at)
    if status.codec:
        registry.saw_stream(camera, **{k: getattr(status, k) for k in PROFILE_FIELDS})


class StatusFollower(CompactedFollower):
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
        super().__init__(bus, topic, poll_s=poll_s, retry=retry, name="status-follow")
        self.registry = registry

    def apply(self, record: Record) -> bool:
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
            return False
        apply_status(self.registry, camera, status)
        return True

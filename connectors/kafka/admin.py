"""Topic administration: create the six topics if missing, with their settings.

segments   ``partitions`` partitions, ``max.message.bytes`` = segment_max_bytes,
           time retention (segments are replayable for warm-up, not kept forever)
queries    1 partition, ``cleanup.policy=compact`` (latest definition per query id;
           a tombstone deletes), kept forever
answers    ``partitions`` partitions, time retention
deadletter 1 partition, time retention, large messages (it carries failed segments)
status     1 partition, compacted, key camera (latest stream status snapshot per
           camera, see :mod:`connectors.bus.status_messages`), kept forever

Existing topics are left alone (never altered nor grown: growing would move
cameras); :meth:`TopicAdmin.ensure` reports what it created.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from connectors.bus.base import Topics
from connectors.kafka.base import KafkaConfig, KafkaUnavailable, TopicError
from connectors.kafka.clients import kafka_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    """One topic as feedwatch wants it created."""

    name: str
    partitions: int
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)

    def new_topic(self) -> NewTopic:
        return NewTopic(
            self.name, self.partitions, self.replication_factor, topic_configs=self.configs
        )


def topics_of(cfg: KafkaConfig) -> Topics:
    """The full topic names under the configured prefix."""
    p = cfg.topic_prefix
    return Topics(
        segments=p + cfg.segments_topic,
        queries=p + cfg.queries_topic,
        answers=p + cfg.answers_topic,
        deadletter=p + cfg.deadletter_topic,
    )


def status_topic_of(cfg: KafkaConfig) -> str:
    """The compacted camera-status topic's full name."""
    return cfg.topic_prefix + getattr(cfg, "status_topic", "status")


def frames_topic_of(cfg: KafkaConfig) -> str:
    """The frames topic (every encoded frame, perception → sink's frame index)."""
    return cfg.topic_prefix + getattr(cfg, "frames_topic", "frames")


def _ms(seconds: float) -> str:
    return str(int(seconds * 1000))


_COMPACTED = {
    "cleanup.policy": "compact",
    "retention.ms": "-1",
    "min.compaction.lag.ms": "0",
    "segment.ms": "600000",
}


def topic_specs(cfg: KafkaConfig) -> list[TopicSpec]:
    """The topics with their partitions and configs (see the module docstring)."""
    t, rf = topics_of(cfg), cfg.replication_factor
    big = str(cfg.segment_max_bytes)
    return [
        TopicSpec(
            t.segments,
            cfg.partitions,
            rf,
            {
                "max.message.bytes": big,
                "retention.ms": _ms(cfg.segments_retention_s),
                "cleanup.policy": "delete",
                "message.timestamp.type": "CreateTime",
            },
        ),
        TopicSpec(t.queries, 1, rf, dict(_COMPACTED)),
        TopicSpec(
            t.answers,
            cfg.partitions,
            rf,
            {
                "retention.ms": _ms(cfg.answers_retention_s),
                "cleanup.policy": "delete",
                "max.message.bytes": str(4 * 1024 * 1024),
            },
        ),
        TopicSpec(
            t.deadletter,
            1,
            rf,
            {
                "retention.ms": _ms(cfg.deadletter_retention_s),
                "cleanup.policy": "delete",
                "max.message.bytes": big,
            },
        ),
        TopicSpec(status_topic_of(cfg), 1, rf, dict(_COMPACTED)),
        TopicSpec(
            frames_topic_of(cfg),
            cfg.partitions,
            rf,
            {
                "retention.ms": _ms(getattr(cfg, "frames_retention_s", 6 * 3600.0)),
                "cleanup.policy": "delete",
                "max.message.bytes": str(4 * 1024 * 1024),
            },
        ),
    ]


class TopicAdmin:
    """Creates missing topics; built by :meth:`from_config`, receives a ready client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_config(cls, cfg: KafkaConfig) -> TopicAdmin:
        if not cfg.bootstrap:
            raise KafkaUnavailable(
                "no Kafka bootstrap address (--kafka / FEEDWATCH_KAFKA_BOOTSTRAP)"
            )
        client = kafka_client(
            KafkaAdminClient,
            cfg,
            client_id="feedwatch-admin",
            bootstrap_timeout_ms=int(cfg.request_timeout_s * 1000),
            request_timeout_ms=int(cfg.request_timeout_s * 1000),
        )
        return cls(client)

    def existing(self) -> set[str]:
        return set(self.client.list_topics())

    def partitions_of(self, topic: str) -> int:
        """How many partitions ``topic`` has (0 when it does not exist)."""
        for desc in self.client.describe_topics([topic]):
            if desc.get("name", desc.get("topic")) == topic and not desc.get("error_code"):
                return len(desc.get("partitions") or [])
        return 0

    def ensure(self, specs: list[TopicSpec]) -> list[str]:
        """Create each missing topic; returns the names created (a race is not an error)."""
        have = self.existing()
        missing = [s for s in specs if s.name not in have]
        created: list[str] = []
        for spec in missing:
            if self._create(spec):
                created.append(spec.name)
        return created

    def _create(self, spec: TopicSpec) -> bool:
        try:
            self.client.create_topics([spec.new_topic()], wait_for_metadata=True)
        except TopicAlreadyExistsError:
            return False
        except KafkaError as exc:
            raise TopicError(f"cannot create topic {spec.name!r} {spec.configs}: {exc}") from exc
        log.info("created topic %s (%d partitions, %s)", spec.name, spec.partitions, spec.configs)
        return True

    def close(self) -> None:
        self.client.close()


def ensure_topics(cfg: KafkaConfig) -> list[str]:
    """Create the feedwatch topics that are missing; returns the names created."""
    admin = TopicAdmin.from_config(cfg)
    try:
        return admin.ensure(topic_specs(cfg))
    finally:
        admin.close()

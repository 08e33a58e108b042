"""The Kafka family's interfaces and exceptions (nothing else lives here).

Connectors never import ``workers``, so builders take any object shaped like
:class:`KafkaConfig` that also carries the security settings of
:class:`connectors.kafka.security.KafkaSecurity` (``workers.config.KafkaSettings`` is
one). Errors refine :class:`pipeline.errors.BusError`.
"""

from __future__ import annotations

from typing import Protocol

from pipeline.errors import BusError


class KafkaConfig(Protocol):
    """The settings the Kafka connectors read (see ``workers.config.KafkaSettings``)."""

    bootstrap: str
    topic_prefix: str
    segments_topic: str
    queries_topic: str
    answers_topic: str
    deadletter_topic: str
    status_topic: str
    partitions: int
    replication_factor: int
    segment_max_bytes: int
    segments_retention_s: float
    answers_retention_s: float
    deadletter_retention_s: float
    linger_ms: int
    request_timeout_s: float


class KafkaUnavailable(BusError):
    """No broker answered at the bootstrap address."""


class KafkaAuthError(KafkaUnavailable):
    """The broker refused the login (SASL), or TLS with it failed: settings to fix, not
    an outage to wait out."""


class TopicError(BusError):
    """A topic could not be created or has settings that cannot work."""


class ProduceError(BusError):
    """A record was not acknowledged by the broker (acks=all)."""

"""Kafka connectors: topic admin, producers, the segment sink, status."""

from connectors.kafka.admin import (
    TopicAdmin,
    TopicSpec,
    ensure_topics,
    frames_topic_of,
    status_topic_of,
    topic_specs,
    topics_of,
)
from connectors.kafka.base import KafkaConfig, KafkaUnavailable, ProduceError, TopicError
from connectors.kafka.partitioning import partition_for
from connectors.kafka.producer import KafkaBus, KafkaBusConsumer, KafkaBusProducer
from connectors.kafka.segment_sink import KafkaSegmentSink
from connectors.kafka.status import StatusPublisher

__all__ = [
    "KafkaBus",
    "KafkaBusConsumer",
    "KafkaBusProducer",
    "KafkaConfig",
    "KafkaSegmentSink",
    "KafkaUnavailable",
    "ProduceError",
    "StatusPublisher",
    "TopicAdmin",
    "TopicError",
    "TopicSpec",
    "ensure_topics",
    "partition_for",
    "frames_topic_of",
    "status_topic_of",
    "topic_specs",
    "topics_of",
]

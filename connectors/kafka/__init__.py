"""Kafka connectors: topic admin, producers, the segment sink, dead letters."""

from connectors.kafka.admin import TopicAdmin, TopicSpec, ensure_topics, topic_specs, topics_of
from connectors.kafka.base import KafkaConfig, KafkaUnavailable, ProduceError, TopicError
from connectors.kafka.deadletter import DeadLetters
from connectors.kafka.partitioning import partition_for
from connectors.kafka.producer import KafkaBus, KafkaBusConsumer, KafkaBusProducer
from connectors.kafka.sink import KafkaSegmentSink

__all__ = [
    "DeadLetters",
    "KafkaBus",
    "KafkaBusConsumer",
    "KafkaBusProducer",
    "KafkaConfig",
    "KafkaSegmentSink",
    "KafkaUnavailable",
    "ProduceError",
    "TopicAdmin",
    "TopicError",
    "TopicSpec",
    "ensure_topics",
    "partition_for",
    "topic_specs",
    "topics_of",
]

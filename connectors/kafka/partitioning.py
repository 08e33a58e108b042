"""The camera → partition rule: Kafka's default partitioner, written down.

``partition = (murmur2(utf8(camera)) & 0x7fffffff) % partitions`` — the rule of the
Java client's default partitioner for keyed records (and kafka-python's), so a
segment produced by any standard client keyed by camera id lands on the same
partition. It is stable across processes and versions (no Python ``hash``), and one
partition therefore owns a camera: its segments are read in order by one worker.
Changing the partition count moves cameras; topics are created once with
``FEEDWATCH_KAFKA_PARTITIONS`` and never grown by feedwatch.
"""

from __future__ import annotations

from kafka.partitioner.default import murmur2


def partition_for(camera: str, partitions: int) -> int:
    """The partition that owns ``camera`` in a topic of ``partitions`` partitions."""
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    return int(murmur2(camera.encode("utf-8")) & 0x7FFFFFFF) % partitions

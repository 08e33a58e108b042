"""Dead letters on any bus: a message that cannot be processed is kept, with why.

The record carries the original key, value and headers plus ``error.*`` headers
(type, message, stage, topic, camera, partition, offset) as defined in
:func:`connectors.bus.messages.encode_deadletter`. Publishing is synchronous so a
worker commits a bad message's offset only after its dead letter is stored. The
embedded run and the Kafka worker publish through the same object.
"""

from __future__ import annotations

import logging

from connectors.bus.base import Producer, Record
from connectors.bus.messages import HeadersIn, encode_deadletter
from connectors.retry import RetryPolicy
from pipeline.errors import BusError

log = logging.getLogger(__name__)
UNTIL_STORED = RetryPolicy(initial=0.5, maximum=10.0)
ONCE = RetryPolicy(attempts=1)


def camera_of(record: Record) -> str:
    """The camera a record names (its ``camera`` header first, then its key)."""
    raw = dict(record.headers).get("camera") or record.key or b""
    return bytes(raw).decode("utf-8", "replace")


class DeadLetters:
    """Publishes dead letters to one topic through a ready producer.

    ``retry`` is how :meth:`publish_record` retries (by default until the bus
    acknowledges, the Kafka worker's choice; the in-process bus only fails when it is
    closed, so the embedded run passes :data:`ONCE`).
    """

    def __init__(
        self, producer: Producer, topic: str, *, retry: RetryPolicy = UNTIL_STORED
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.retry = retry
        self.count = 0

    def publish(
        self,
        original: tuple[bytes | None, bytes | None, HeadersIn],
        error: BaseException | str,
        *,
        stage: str,
        topic: str,
        camera: str = "",
        partition: int = -1,
        offset: int = -1,
    ) -> None:
        """Store the dead letter durably (flushes) and log it."""
        msg = encode_deadletter(
            original,
            error,
            stage=stage,
            topic=topic,
            camera=camera,
            partition=partition,
            offset=offset,
        )
        self.producer.send(self.topic, msg.key, msg.value, msg.headers)
        self.producer.flush()
        self.count += 1
        log.warning(
            "dead letter: %s at %s[%d]@%d camera=%r: %s",
            stage,
            topic,
            partition,
            offset,
            camera,
            error,
        )

    def publish_record(
        self, record: Record, error: BaseException, *, stage: str, camera: str | None = None
    ) -> None:
        """Dead-letter a consumed record, retrying until the bus acknowledges it.

        The caller commits the record's offset only after this returns, so a broker
        outage delays the dead letter but never loses the message. ``camera`` defaults
        to the one the record names.
        """
        where = f"dead letter of {record.topic}[{record.partition}]@{record.offset}"
        self.retry.call(
            lambda: self.publish(
                (record.key, record.value, record.headers),
                error,
                stage=stage,
                topic=record.topic,
                camera=camera_of(record) if camera is None else camera,
                partition=record.partition,
                offset=record.offset,
            ),
            where,
            on=BusError,
            logger=log,
        )

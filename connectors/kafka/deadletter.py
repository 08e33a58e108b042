"""The dead-letter producer: a message that cannot be processed is kept, with why.

The record carries the original key, value and headers plus ``error.*`` headers
(type, message, stage, topic, camera, partition, offset) as defined in
:func:`connectors.bus.messages.encode_deadletter`. Publishing is synchronous so a
worker commits a bad message's offset only after its dead letter is stored.
"""

from __future__ import annotations

import logging
import time

from connectors.bus.base import Producer, Record
from connectors.bus.messages import HeadersIn, encode_deadletter
from connectors.kafka.base import ProduceError

log = logging.getLogger(__name__)


class DeadLetters:
    """Publishes dead letters to one topic through a ready producer."""

    def __init__(self, producer: Producer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
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
        self, record: Record, error: BaseException, *, stage: str, camera: str, retry_after: float
    ) -> None:
        """Dead-letter a consumed record, retrying until the broker acknowledges it.

        The caller commits the record's offset only after this returns, so a broker
        outage delays the dead letter but never loses the message.
        """
        while True:
            try:
                self.publish(
                    (record.key, record.value, record.headers),
                    error,
                    stage=stage,
                    topic=record.topic,
                    camera=camera,
                    partition=record.partition,
                    offset=record.offset,
                )
                return
            except ProduceError as exc:
                log.warning("dead letter not acknowledged (%s); retrying", exc)
                time.sleep(retry_after)

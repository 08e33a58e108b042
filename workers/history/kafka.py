"""Frames over Kafka: perception workers publish every encoded frame, the sink indexes them.

:class:`FramePublisher` is the perception handler's ``on_encoded`` observer in the
scale-out worker: each frame becomes a ``frames`` record (key camera id), flushed
with the batch. :class:`FrameBatchHandler` is the sink's agent on that topic: a batch
of records becomes one frame-index write (duplicates skipped by the unique key, so
redelivery is harmless), then retention runs when due; a malformed record is a
dead letter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from connectors.bus.base import Producer, Record
from connectors.bus.deadletter import DeadLetters
from connectors.bus.frame_messages import decode_frame, encode_frame
from pipeline.errors import BusError, MessageError
from pipeline.history.records import IndexedFrame, IndexPolicy, to_indexed
from pipeline.types import EncodedFrame
from workers.history.writer import FrameWriter

log = logging.getLogger(__name__)


class FramePublisher:
    """Encoded frames → ``frames`` records (index rows: embedding, thumbnail, grid)."""

    def __init__(self, producer: Producer, topic: str, model_id: str, policy: IndexPolicy) -> None:
        self.producer = producer
        self.topic = topic
        self.model_id = model_id
        self.policy = policy
        self.sent = 0

    def __call__(self, frames: Mapping[str, Sequence[EncodedFrame]]) -> None:
        try:
            for batch in frames.values():
                for frame in batch:
                    self.producer.send(self.topic, *encode_frame(
                        to_indexed(frame, self.model_id, self.policy)))
                    self.sent += 1
            self.producer.flush()
        except BusError as exc:  # history is best effort: answers never wait for it
            log.warning("frames not published: %s", exc)


class FrameBatchHandler:
    """A batch of ``frames`` records in; frame-index rows (or dead letters) out."""

    def __init__(self, writer: FrameWriter, deadletters: DeadLetters) -> None:
        self.writer = writer
        self.deadletters = deadletters

    def __call__(self, records: list[Record]) -> int:
        rows: list[IndexedFrame] = []
        placed: dict[tuple[str, float], Record] = {}
        for r in records:
            try:
                rows.append(decode_frame(r.key, r.value, r.headers))
                placed[(rows[-1].camera, rows[-1].t)] = r
            except MessageError as exc:
                self.deadletters.publish_record(r, exc, stage="frames")
        self.writer.write(rows)
        for frame, exc in self.writer.refused:  # the store cannot hold it
            self.deadletters.publish_record(placed[(frame.camera, frame.t)], exc,
                                            stage="frames", camera=frame.camera)
        return len(rows)

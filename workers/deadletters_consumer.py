"""Deadletter topic → SQL, in both modes: the consumer that keeps the dead letters.

:class:`DeadLettersConsumer` takes a batch of records of the ``deadletter`` topic and
stores each as a row (:class:`~connectors.store.dead_letters.DeadLetterLog`), retrying
while the database pushes back or is away, as the answers consumer does; the caller
commits the offsets after it returns. A record that is not a dead letter (written by
hand, or by an older version) is logged and skipped: there is no dead letter for a
dead letter, and the record itself stays on the topic. A batch the store refuses is
written one dead letter at a time and what is still refused is logged, never retried
for ever.

The embedded run polls it beside the answers consumer; ``feedwatch worker`` (roles
``all`` and ``sink``) runs it as an agent of its own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import KW_ONLY, dataclass, field

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.retry import RetryPolicy
from connectors.store.dead_letters import DeadLetterLog, Placed
from pipeline.errors import BackpressureError, MessageError, StoreDataError, StoreError

log = logging.getLogger(__name__)
_Outage = (BackpressureError, StoreError)


@dataclass(eq=False)
class DeadLettersConsumer:
    """A batch of dead-letter records in; rows in SQL out."""

    book: DeadLetterLog
    _: KW_ONLY
    retry: RetryPolicy
    stop: threading.Event | None = None
    stored: int = field(default=0, init=False)
    skipped: int = field(default=0, init=False)

    def __call__(self, records: list[Record]) -> int:
        """Store the batch; returns how many rows were new."""
        placed = [p for p in map(self._placed, records) if p is not None]
        if not placed:
            return 0
        try:
            added = self.retry.call(lambda: self.book.record(placed), "storing dead letters",
                                    on=_Outage, stop=self.stop, logger=log)
        except StoreDataError:
            added = sum(self._one(p) for p in placed)
        self.stored += added
        return added

    def _placed(self, record: Record) -> Placed | None:
        try:
            letter = msg.decode_deadletter(record.key, record.value, record.headers)
        except MessageError as exc:
            self.skipped += 1
            log.warning("record %s[%d]@%d is not a dead letter, not stored: %s",
                        record.topic, record.partition, record.offset, exc)
            return None
        return Placed(record.partition, record.offset, record.timestamp, letter)

    def _one(self, placed: Placed) -> int:
        try:
            return int(self.retry.call(lambda: self.book.record([placed]), "storing a dead letter",
                                       on=_Outage, stop=self.stop, logger=log))
        except StoreDataError as exc:
            self.skipped += 1
            log.warning("dead letter %d@%d (stage %s, camera %r) refused by the store: %s",
                        placed.partition, placed.offset, placed.letter.stage,
                        placed.letter.camera, exc)
            return 0

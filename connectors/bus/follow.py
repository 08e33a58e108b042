"""Following a compacted topic: the one mechanism for the queries and camera-status tables.

A compacted topic (``queries``, ``status``) is a table: one latest record per key. A
:class:`CompactedFollower` reads it from the beginning with a group-less consumer
from a daemon thread and keeps following it, applying each record through
``apply``; ``ready`` is set once the records that were there at start have been
applied (the worker holds segments back until then). The perception worker follows
``queries`` with it, the API ``status``; on any bus (Kafka or the in-process one).
A lost broker starts the reading over under the retry policy (applying a table's
records again is harmless); a record ``apply`` refuses is its own business (a dead
letter, a log line) and never stops the follower.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

from connectors.bus.base import Bus, Consumer, Record
from connectors.retry import RetryPolicy

log = logging.getLogger(__name__)
FOLLOW_RETRY = RetryPolicy(initial=0.5, maximum=10.0)


@dataclass(eq=False)
class CompactedFollower:
    """A daemon thread that applies a compacted topic, from its beginning, until stopped."""

    bus: Bus
    topic: str
    on_record: Callable[[Record], bool | None] | None = None
    _: KW_ONLY
    poll_s: float = 0.5
    retry: RetryPolicy = FOLLOW_RETRY
    name: str = "follow"
    applied: int = field(default=0, init=False)
    ready: threading.Event = field(default_factory=threading.Event, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def start(self) -> CompactedFollower:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def apply(self, record: Record) -> bool | None:
        """Apply one record (with ``on_record``; subclasses override); False = refused."""
        return None if self.on_record is None else self.on_record(record)

    def _run(self) -> None:
        what = f"following topic {self.topic}"
        try:  # the broker away (at start or mid-poll): start over, keep serving
            self.retry.call(self._follow_until_stopped, what, stop=self._stop, logger=log)
        except Exception:
            if not self._stop.is_set():
                log.exception("%s stopped", what)

    def _follow_until_stopped(self) -> None:
        consumer = self.bus.consumer([self.topic], "", from_beginning=True)
        try:
            self._follow(consumer)
        finally:
            consumer.close()

    def _follow(self, consumer: Consumer) -> None:
        while not self._stop.is_set():
            for record in consumer.poll(max_records=500, timeout=self.poll_s):
                self._one(record)
            if not self.ready.is_set() and consumer.caught_up():
                log.info("%s table ready: %d record(s)", self.topic, self.applied)
                self.ready.set()

    def _one(self, record: Record) -> None:
        try:
            if self.apply(record) is not False:
                self.applied += 1
        except Exception:  # apply's own errors are handled there; this one is a bug
            log.exception(
                "record %s[%d]@%d not applied", record.topic, record.partition, record.offset
            )

"""Answers topic → SQL, in both modes: the one consumer that stores answers.

:class:`AnswersConsumer` takes a batch of answer records, adds each to the store's
:class:`~connectors.store.AnswerSink` (a malformed record becomes a dead letter) and
flushes once — one transaction, ``ON CONFLICT DO NOTHING`` on ``(query_id, camera_id,
window_end)`` — retrying while the database pushes back or is away. The caller acks
the batch's offsets only after this returns, so an answer is stored at least once
and, thanks to the unique key, exactly once in the table.

The embedded run (``feedwatch run``) drives it over the in-process bus; ``feedwatch
worker`` runs it as a second agent (``--role all``, the default) or alone (``--role
sink``). The mode chooses the retry policy (:func:`store_retry`): a file run gives up
after a bounded budget with a clear error, a live run retries until stored. Stored
rows and dead letters are counted in :mod:`workers.ops.metrics` either way; each
batch touches the heartbeat file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import UNTIL_STORED, DeadLetters
from connectors.retry import RetryPolicy
from connectors.store import AnswerSink
from connectors.store.answer_sink import add_making_room
from pipeline.errors import BackpressureError, MessageError, StoreError
from pipeline.timings import Clock
from pipeline.types import Answer
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat

log = logging.getLogger(__name__)
FILE_RUN_RETRY = RetryPolicy(initial=0.05, maximum=2.0, attempts=30)
"""A file run's budget for one flush: about a minute of a database that pushes back."""


def store_retry(live: bool) -> RetryPolicy:
    """How long storing answers is retried: until stored for a live run (a camera, a
    worker: nothing may be lost), a bounded budget for a run over files."""
    return UNTIL_STORED if live else FILE_RUN_RETRY


@dataclass(eq=False)
class AnswersConsumer:
    """A batch of answer records in; rows in SQL (or dead letters) out."""

    sink: AnswerSink
    deadletters: DeadLetters
    _: KW_ONLY
    retry: RetryPolicy = UNTIL_STORED
    on_stored: Callable[[list[Answer]], None] = lambda answers: None
    heartbeat: Heartbeat = field(default_factory=lambda: Heartbeat(None))
    stop: threading.Event | None = None  # set: stop retrying (Ctrl-C, shutdown)
    inserted: int = field(default=0, init=False)
    dead_letters: int = field(default=0, init=False)

    def __call__(self, records: list[Record]) -> int:
        """Store the batch; returns how many rows were new. The waterfall's last stage
        (``stored``: the commit) and the total are observed here."""
        self.heartbeat.beat()
        clock = Clock()
        metrics.observe_lag("sink", clock.now(), (r.timestamp for r in records))
        answers = [a for a in (self._decode(r) for r in records) if a is not None]
        for answer in answers:
            add_making_room(self.sink, answer, self._flush)
        inserted = self._flush()
        self.inserted += inserted
        metrics.ANSWERS_STORED.inc(inserted)
        stored = clock.now()
        for answer in answers:
            if answer.timings:
                metrics.observe_stages({**answer.timings, "stored": stored}, ("store", "total"))
        self.on_stored(answers)
        return inserted

    def _decode(self, record: Record) -> Answer | None:
        try:
            return msg.decode_answer(record.key, record.value, record.headers)
        except MessageError as exc:
            self._dead_letter(record, exc)
            return None

    def _flush(self) -> int:
        try:
            return self.retry.call(self.sink.flush, "storing answers",
                                   on=(BackpressureError, StoreError), stop=self.stop, logger=log)
        except (BackpressureError, StoreError) as exc:
            if not self.retry.attempts or (self.stop is not None and self.stop.is_set()):
                raise  # until stored, or stopped: not a budget spent
            raise StoreError(f"answers could not be stored after {self.retry.attempts} tries "
                             f"(the database kept refusing: {exc})") from exc

    def _dead_letter(self, record: Record, exc: BaseException) -> None:
        self.deadletters.publish_record(record, exc, stage="sink", camera="")
        self.dead_letters += 1
        metrics.DEAD_LETTERS.labels(stage="sink").inc()

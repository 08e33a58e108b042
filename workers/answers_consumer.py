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

An outage (:class:`~pipeline.errors.StoreError`) is retried; a value the store
refuses (:class:`~pipeline.errors.StoreDataError`: a constraint, a NUL in PostgreSQL
text) is the record's fault, not the store's, so the batch is written again one
answer at a time and each refused answer's record becomes a dead letter (stage
``sink``, its query, camera and window in the error); the rest are stored. Records
of the second kind on the topic, query failures (:mod:`connectors.bus.failure_messages`),
are recorded after the batch's answers, so ``GET /api/queries/{id}`` shows them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

from connectors.bus import failure_messages as failures
from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import UNTIL_STORED, DeadLetters
from connectors.bus.failure_messages import QueryError
from connectors.retry import RetryPolicy
from connectors.store import AnswerSink
from connectors.store.answer_sink import add_making_room
from pipeline.errors import BackpressureError, MessageError, StoreDataError, StoreError
from pipeline.timings import Clock
from pipeline.types import Answer
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat

log = logging.getLogger(__name__)
_Outage = (BackpressureError, StoreError)
"""What is retried: the store pushes back or is away (a refused value is not retried)."""
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
    _batch: dict[tuple[str, str, float], Record] = field(default_factory=dict, init=False)

    def __call__(self, records: list[Record]) -> int:
        """Store the batch; returns how many rows were new. The waterfall's last stage
        (``stored``: the commit) and the total are observed here."""
        self.heartbeat.beat()
        clock = Clock()
        metrics.observe_lag("sink", clock.now(), (r.timestamp for r in records))
        errors = [e for e in map(self._failure, records) if e is not None]
        kept = [r for r in records if not failures.is_query_failure(r.headers)]
        decoded = [(r, self._decode(r)) for r in kept]
        self._batch = {_key(a): r for r, a in decoded if a is not None}
        answers = [a for _, a in decoded if a is not None]
        for answer in answers:
            add_making_room(self.sink, answer, self._flush)
        inserted = self._flush()
        if errors:
            self._record_failures(errors, records)
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

    def _failure(self, record: Record) -> QueryError | None:
        if not failures.is_query_failure(record.headers):
            return None
        try:
            return failures.decode_query_failure(record.key, record.value, record.headers)
        except MessageError as exc:
            self._dead_letter(record, exc)
            return None

    def _record_failures(self, errors: list[QueryError], records: list[Record]) -> None:
        record_failures = getattr(self.sink, "record_failures", None)
        if record_failures is None:
            return

        def attempt() -> StoreDataError | None:  # a refused value is returned, not retried
            try:
                record_failures(errors)
            except StoreDataError as exc:
                return exc
            return None

        refused = self.retry.call(attempt, "recording query failures", on=_Outage,
                                  stop=self.stop, logger=log)
        for record in records if refused is not None else ():
            if failures.is_query_failure(record.headers):  # kept as a dead letter
                self._dead_letter(record, refused)

    def _flush(self) -> int:
        try:
            return self.retry.call(self._flush_once, "storing answers",
                                   on=_Outage, stop=self.stop, logger=log)
        except (BackpressureError, StoreError) as exc:
            if not self.retry.attempts or (self.stop is not None and self.stop.is_set()):
                raise  # until stored, or stopped: not a budget spent
            raise StoreError(f"answers could not be stored after {self.retry.attempts} tries "
                             f"(the database kept refusing: {exc})") from exc

    def _flush_once(self) -> int:
        """One flush; a refused value makes it write answer by answer, dead-lettering the
        records of the answers refused."""
        try:
            written = int(self.sink.flush())
        except StoreDataError:
            if not hasattr(self.sink, "flush_each"):  # a wrapper that cannot split (bench)
                raise
            written = int(self.sink.flush_each())
        for answer, exc in getattr(self.sink, "take_refused", list)():
            log.warning("answer of %s on %s at %s refused by the store: %s", answer.query_id,
                        answer.camera, answer.window_end, exc)
            why = StoreDataError(f"{exc} (query {answer.query_id}, camera {answer.camera}, "
                                 f"window_end {answer.window_end})")
            record = self._batch.get(_key(answer))
            if record is not None:
                self._dead_letter(record, why, answer.camera)
        return int(written)

    def _dead_letter(self, record: Record, exc: BaseException, camera: str = "") -> None:
        self.deadletters.publish_record(record, exc, stage="sink", camera=camera)
        self.dead_letters += 1
        metrics.DEAD_LETTERS.labels(stage="sink").inc()


def _key(answer: Answer) -> tuple[str, str, float]:
    return (answer.query_id, answer.camera, answer.window_end)

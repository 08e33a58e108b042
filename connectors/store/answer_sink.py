"""The idempotent answer sink: batch in ``add``, write in ``flush``.

``flush`` inserts the batch in one transaction with ``ON CONFLICT DO NOTHING`` on
``(query_id, camera_id, window_end)``, so redelivered answers are harmless. When the
batch is full, or the database is busy, the sink raises
:class:`pipeline.errors.BackpressureError` with ``retry_after`` and keeps the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from connectors.bus.failure_messages import QueryError
from connectors.store.batch import WriteBatch
from connectors.store.dead_letters import DeadLetterLog
from connectors.store.query_failures import QueryFailures
from connectors.store.repository import Store
from pipeline.errors import BackpressureError
from pipeline.types import Answer


class AnswerSink(WriteBatch[Answer]):
    """Collects answers and writes them to the store at commit time."""

    what = "answers"
    transient_marks = ("database is locked", "operationalerror", "connection")

    def __init__(self, store: Store, max_pending: int = 1000, retry_after: float = 1.0) -> None:
        super().__init__(max_pending, retry_after)
        self.store = store
        self.written = 0

    def add(self, answer: Answer) -> None:
        """Queue one answer; raises BackpressureError once ``max_pending`` are queued."""
        self._queue([answer])

    def _write(self, answers: Sequence[Answer]) -> int:
        inserted = self.store.insert_answers(answers)
        self.written += inserted
        return inserted

    def record_failures(self, errors: Sequence[QueryError]) -> None:
        """Record why queries were set aside (the workers' reports, see
        :mod:`connectors.bus.failure_messages`)."""
        QueryFailures(self.store.engine).record(errors)

    def dead_letter_log(self) -> DeadLetterLog:
        """Where the dead letters of this store's runs are kept."""
        return DeadLetterLog(self.store.engine)


class Sink(Protocol):
    def add(self, answer: Answer) -> None: ...


def add_making_room(sink: Sink, answer: Answer, flush: Callable[[], object]) -> None:
    """Queue one answer; when the sink is full, ``flush`` (the caller's retrying flush)
    makes room first."""
    try:
        sink.add(answer)
    except BackpressureError:
        flush()
        sink.add(answer)


class MemoryAnswerSink(WriteBatch[Answer]):
    """The in-memory double of :class:`AnswerSink`: same add/flush and idempotency."""

    what = "answers"

    def __init__(self, max_pending: int = 1000, retry_after: float = 1.0) -> None:
        super().__init__(max_pending, retry_after)
        self.rows: dict[tuple[str, str, float], Answer] = {}
        self.failures: dict[str, QueryError] = {}

    def add(self, answer: Answer) -> None:
        self._queue([answer])

    def _write(self, answers: Sequence[Answer]) -> int:
        before = len(self.rows)
        for a in answers:
            self.rows.setdefault((a.query_id, a.camera, a.window_end), a)
        return len(self.rows) - before

    def record_failures(self, errors: Sequence[QueryError]) -> None:
        for e in errors:
            known = self.failures.get(e.query_id)
            if known is None or e.version >= known.version:
                self.failures[e.query_id] = e

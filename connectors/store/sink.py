"""The idempotent answer sink: batch in ``add``, write in ``flush``.

``flush`` inserts the batch in one transaction with ``ON CONFLICT DO NOTHING`` on
``(query_id, camera_id, window_end)``, so redelivered answers are harmless. When the
batch is full, or the database is busy, the sink raises
:class:`pipeline.errors.BackpressureError` with ``retry_after`` and keeps the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from connectors.store.repository import Store
from pipeline.errors import BackpressureError, StoreError
from pipeline.types import Answer


class AnswerSink:
    """Collects answers and writes them to the store at commit time."""

    def __init__(self, store: Store, max_pending: int = 1000, retry_after: float = 1.0) -> None:
        self.store = store
        self.max_pending = max_pending
        self.retry_after = retry_after
        self._pending: list[Answer] = []
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, answer: Answer) -> None:
        """Queue one answer; raises BackpressureError once ``max_pending`` are queued."""
        if len(self._pending) >= self.max_pending:
            raise BackpressureError(
                self.retry_after, f"{self.max_pending} answers waiting for flush"
            )
        self._pending.append(answer)

    def flush(self) -> int:
        """Write the batch; returns how many answers were new (duplicates are skipped)."""
        if not self._pending:
            return 0
        try:
            inserted = self.store.insert_answers(self._pending)
        except StoreError as exc:
            if _is_transient(exc):
                raise BackpressureError(self.retry_after, str(exc).splitlines()[0]) from exc
            raise
        self._pending.clear()
        self.written += inserted
        return inserted


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


def _is_transient(exc: StoreError) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("database is locked", "operationalerror", "connection"))


class MemoryAnswerSink:
    """The in-memory double of :class:`AnswerSink`: same add/flush and idempotency."""

    def __init__(self, max_pending: int = 1000, retry_after: float = 1.0) -> None:
        self.max_pending = max_pending
        self.retry_after = retry_after
        self.rows: dict[tuple[str, str, float], Answer] = {}
        self._pending: list[Answer] = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, answer: Answer) -> None:
        if len(self._pending) >= self.max_pending:
            raise BackpressureError(self.retry_after, f"{self.max_pending} answers waiting")
        self._pending.append(answer)

    def flush(self) -> int:
        before = len(self.rows)
        for a in self._pending:
            self.rows.setdefault((a.query_id, a.camera, a.window_end), a)
        self._pending.clear()
        return len(self.rows) - before

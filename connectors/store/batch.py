"""Add/flush batching shared by the store's writers (answers, the frame index).

``add`` queues, ``flush`` writes the queue at commit time. A full queue refuses more
with :class:`~pipeline.errors.BackpressureError` (``retry_after``); a flush that
fails because the database is busy (a :class:`~pipeline.errors.StoreError` whose
text carries one of ``transient_marks``) raises the same and keeps the queue for
the retry; any other store error propagates, the queue kept as well. When the
store refuses a value (:class:`~pipeline.errors.StoreDataError`), :meth:`flush_each`
writes the queue one row at a time and hands back the rows it refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from pipeline.errors import BackpressureError, StoreDataError, StoreError

T = TypeVar("T")


class WriteBatch(Generic[T]):
    """A queue of rows written in one go by :meth:`flush` (subclasses say how)."""

    what: ClassVar[str] = "rows"  # what the queue holds, for backpressure messages
    transient_marks: ClassVar[tuple[str, ...]] = ("locked", "connection")

    def __init__(self, max_pending: int, retry_after: float) -> None:
        self.max_pending = max_pending
        self.retry_after = retry_after
        self._pending: list[T] = []
        self._carried = 0  # rows written by a flush_each an outage cut short
        self._refused: list[tuple[T, StoreDataError]] = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _queue(self, items: Sequence[T]) -> None:
        """Queue ``items``, or refuse them all if the queue would pass ``max_pending``
        (a queue that is empty takes any batch)."""
        if self._pending and len(self._pending) + len(items) > self.max_pending:
            raise BackpressureError(
                self.retry_after, f"{len(self._pending)} {self.what} waiting for flush"
            )
        self._pending.extend(items)

    def flush(self) -> int:
        """Write the queue; returns how many rows were new (duplicates are skipped)."""
        if self._pending:
            self._carried += self._write_or_push_back(self._pending)
            self._pending.clear()
        written, self._carried = self._carried, 0
        return written

    def flush_each(self) -> int:
        """Write the queue one row per transaction; returns the new rows. The rows the
        store refused wait in :meth:`take_refused`. An outage stops it with the rows not
        yet written still queued (those written are counted by the flush that finishes)."""
        while self._pending:
            try:
                self._carried += self._write_or_push_back(self._pending[:1])
            except StoreDataError as exc:
                self._refused.append((self._pending[0], exc))
            self._pending.pop(0)
        written, self._carried = self._carried, 0
        return written

    def take_refused(self) -> list[tuple[T, StoreDataError]]:
        """The rows :meth:`flush_each` dropped because the store refused them, and why."""
        refused, self._refused = self._refused, []
        return refused

    def _write_or_push_back(self, items: Sequence[T]) -> int:
        try:
            return self._write(items)
        except StoreDataError:
            raise
        except StoreError as exc:
            if any(mark in str(exc).lower() for mark in self.transient_marks):
                raise BackpressureError(self.retry_after, str(exc).splitlines()[0]) from exc
            raise

    def _write(self, items: Sequence[T]) -> int:
        raise NotImplementedError

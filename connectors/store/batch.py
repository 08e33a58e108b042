"""Add/flush batching shared by the store's writers (answers, the frame index).

``add`` queues, ``flush`` writes the queue at commit time. A full queue refuses more
with :class:`~pipeline.errors.BackpressureError` (``retry_after``); a flush that
fails because the database is busy (a :class:`~pipeline.errors.StoreError` whose
text carries one of ``transient_marks``) raises the same and keeps the queue for
the retry; any other store error propagates, the queue kept as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from pipeline.errors import BackpressureError, StoreError

T = TypeVar("T")


class WriteBatch(Generic[T]):
    """A queue of rows written in one go by :meth:`flush` (subclasses say how)."""

    what: ClassVar[str] = "rows"  # what the queue holds, for backpressure messages
    transient_marks: ClassVar[tuple[str, ...]] = ("locked", "connection")

    def __init__(self, max_pending: int, retry_after: float) -> None:
        self.max_pending = max_pending
        self.retry_after = retry_after
        self._pending: list[T] = []

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
        if not self._pending:
            return 0
        try:
            written = self._write(self._pending)
        except StoreError as exc:
            if any(mark in str(exc).lower() for mark in self.transient_marks):
                raise BackpressureError(self.retry_after, str(exc).splitlines()[0]) from exc
            raise
        self._pending.clear()
        return written

    def _write(self, items: Sequence[T]) -> int:
        raise NotImplementedError

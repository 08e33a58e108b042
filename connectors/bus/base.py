"""The message-bus interface shared by the in-process bus and Kafka.

A bus moves :class:`connectors.bus.messages.Message` triples between topics. Producers
``send``; consumers in a ``group`` ``poll`` records in order per partition and
``commit`` what they processed. Topic names come from :class:`Topics`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import BusError

__all__ = ["Bus", "BusError", "Consumer", "Producer", "Record", "Topics", "next_offsets"]


@dataclass(frozen=True)
class Topics:
    """The four topic names, all under one prefix (``feedwatch.`` by default)."""

    segments: str = "feedwatch.segments"
    queries: str = "feedwatch.queries"
    answers: str = "feedwatch.answers"
    deadletter: str = "feedwatch.deadletter"

    @classmethod
    def with_prefix(cls, prefix: str) -> Topics:
        return cls(*(f"{prefix}{n}" for n in ("segments", "queries", "answers", "deadletter")))


@dataclass(frozen=True)
class Record:
    """A message as a consumer sees it, with its position in the topic."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp: float


def next_offsets(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """Per (topic, partition), the offset after the last of ``records`` there."""
    out: dict[tuple[str, int], int] = {}
    for r in records:
        out[(r.topic, r.partition)] = max(out.get((r.topic, r.partition), 0), r.offset + 1)
    return out


class Producer(ABC):
    """Sends messages; ``flush`` blocks until everything sent is stored."""

    @abstractmethod
    def send(
        self, topic: str, key: bytes, value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None: ...

    @abstractmethod
    def flush(self, timeout: float | None = None) -> None: ...


class Consumer(ABC):
    """Reads records of its topics in order; offsets are per consumer group."""

    @abstractmethod
    def poll(self, max_records: int = 100, timeout: float = 0.0) -> list[Record]: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def commit_through(self, records: Sequence[Record]) -> None:
        """Commit up to and including ``records`` (each partition's last one), not what
        was polled after them: a caller that polled the next batch ahead keeps it
        uncommitted until it is processed."""

    def caught_up(self) -> bool:
        """Whether everything its topics held when it started has been read (a bus
        that cannot tell says True: the first poll is then taken as the backlog)."""
        return True

    @abstractmethod
    def close(self) -> None: ...


class Bus(ABC):
    """Builds producers and consumers for one cluster (or one process)."""

    @abstractmethod
    def producer(self) -> Producer: ...

    @abstractmethod
    def consumer(
        self, topics: Sequence[str], group: str, *, from_beginning: bool = True
    ) -> Consumer: ...

    def close(self) -> None:
        """Release connections (nothing to do for the in-process bus)."""
        return None

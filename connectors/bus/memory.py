"""The in-process bus: Kafka's semantics for one process, and the test double.

Topics are append-only logs split into partitions by a stable hash of the key (so,
as with Kafka, one partition owns a camera); consumer groups keep committed offsets;
a consumer re-joining its group resumes after the last commit. An optional per-topic
``capacity`` bounds the uncommitted backlog: ``send`` blocks while the slowest group
is that far behind, which keeps a fast file reader from buffering a whole video.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Mapping, Sequence

from connectors.bus.base import Bus, Consumer, Producer, Record
from pipeline.errors import BusError


class MemoryBus(Bus):
    """A thread-safe in-process bus with per-group offsets and optional backpressure."""

    def __init__(
        self,
        partitions: int = 1,
        capacity: Mapping[str, int] | None = None,
        send_timeout: float | None = None,
    ) -> None:
        if partitions < 1:
            raise ValueError("partitions must be >= 1")
        self.partitions = partitions
        self.capacity = dict(capacity or {})
        self.send_timeout = send_timeout
        self._logs: dict[str, list[list[Record]]] = {}
        self._committed: dict[tuple[str, str, int], int] = {}
        self._cond = threading.Condition()
        self._closed = False

    # -- log access (used by producers and consumers of this bus) -------------
    def _log(self, topic: str) -> list[list[Record]]:
        if topic not in self._logs:
            self._logs[topic] = [[] for _ in range(self.partitions)]
        return self._logs[topic]

    def partition_for(self, key: bytes) -> int:
        return zlib.crc32(key) % self.partitions

    def _backlog(self, topic: str) -> int:
        groups = {g for (g, t, _p) in self._committed if t == topic}
        log = self._log(topic)
        if not groups:
            return 0
        return max(
            sum(len(part) - self._committed.get((g, topic, p), 0) for p, part in enumerate(log))
            for g in groups
        )

    def append(
        self, topic: str, key: bytes, value: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        deadline = None if self.send_timeout is None else time.monotonic() + self.send_timeout
        with self._cond:
            limit = self.capacity.get(topic)
            while limit is not None and not self._closed and self._backlog(topic) >= limit:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise BusError(
                        f"topic {topic!r}: backlog stayed at {limit} for {self.send_timeout}s"
                    )
                self._cond.wait(timeout=left if left is not None else 0.5)
            if self._closed:
                raise BusError("the bus is closed")
            p = self.partition_for(key)
            part = self._log(topic)[p]
            part.append(Record(topic, p, len(part), bytes(key), value, list(headers), time.time()))
            self._cond.notify_all()

    def read(self, topic: str, partition: int, offset: int, limit: int) -> list[Record]:
        with self._cond:
            return list(self._log(topic)[partition][offset : offset + limit])

    def committed(self, group: str, topic: str, partition: int) -> int:
        with self._cond:
            return self._committed.get((group, topic, partition), 0)

    def register(self, group: str, topic: str, from_beginning: bool) -> None:
        with self._cond:
            for p, part in enumerate(self._log(topic)):
                start = 0 if from_beginning else len(part)
                self._committed.setdefault((group, topic, p), start)

    def commit_offsets(self, group: str, offsets: Mapping[tuple[str, int], int]) -> None:
        with self._cond:
            for (topic, p), off in offsets.items():
                self._committed[(group, topic, p)] = off
            self._cond.notify_all()

    def wait(self, timeout: float) -> None:
        with self._cond:
            if not self._closed:
                self._cond.wait(timeout=timeout)

    def messages(self, topic: str) -> list[Record]:
        """Every record of a topic (all partitions, in offset order): for tests and tools."""
        with self._cond:
            return [r for part in self._log(topic) for r in part]

    # -- Bus interface ---------------------------------------------------------
    def producer(self) -> Producer:
        return MemoryProducer(self)

    def consumer(
        self, topics: Sequence[str], group: str, *, from_beginning: bool = True
    ) -> Consumer:
        return MemoryConsumer(self, topics, group, from_beginning)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class MemoryProducer(Producer):
    """Appends straight to the bus's log; nothing is ever in flight."""

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus

    def send(
        self, topic: str, key: bytes, value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        self.bus.append(topic, key, value, headers)

    def flush(self, timeout: float | None = None) -> None:
        return None


class MemoryConsumer(Consumer):
    """Reads from the group's committed offsets; ``commit`` stores its position."""

    def __init__(
        self, bus: MemoryBus, topics: Sequence[str], group: str, from_beginning: bool
    ) -> None:
        self.bus = bus
        self.topics = list(topics)
        self.group = group
        for topic in self.topics:
            bus.register(group, topic, from_beginning)
        self._position: dict[tuple[str, int], int] = {
            (t, p): bus.committed(group, t, p) for t in self.topics for p in range(bus.partitions)
        }

    def _fetch(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        for (topic, p), off in self._position.items():
            got = self.bus.read(topic, p, off, max_records - len(out))
            self._position[(topic, p)] = off + len(got)
            out.extend(got)
            if len(out) >= max_records:
                break
        return out

    def poll(self, max_records: int = 100, timeout: float = 0.0) -> list[Record]:
        deadline = time.monotonic() + timeout
        while True:
            got = self._fetch(max_records)
            left = deadline - time.monotonic()
            if got or left <= 0:
                return got
            self.bus.wait(min(left, 0.1))

    def commit(self) -> None:
        self.bus.commit_offsets(self.group, self._position)

    def close(self) -> None:
        self._position = {}

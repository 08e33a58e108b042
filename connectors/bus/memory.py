"""The in-process bus: Kafka's semantics for one process, and the test double.

Topics are append-only logs split into partitions by a stable hash of the key (so,
as with Kafka, one partition owns a camera); consumer groups keep committed offsets;
a consumer re-joining its group resumes after the last commit. An optional per-topic
``capacity`` bounds the uncommitted backlog: ``send`` blocks while the slowest group
is that far behind, which keeps a fast file reader from buffering a whole video.

Retention is by commit, so a run of any length holds bounded memory: once every
group reading a topic has committed past a record, the record is dropped (offsets
keep counting; a group that joins later starts at what is left, as with Kafka's
retention). ``compacted`` topics (queries, camera status) are never dropped by commit
but keep only the latest record per key, like Kafka's log compaction. A group-less
consumer (group ``""``) reads without holding anything back and never commits.
"""

from __future__ import annotations

import bisect
import threading
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from connectors.bus.base import Bus, Consumer, Producer, Record, next_offsets
from pipeline.errors import BusError

COMPACT_SLACK = 64  # a compacted partition is rewritten once it holds this many stale records


@dataclass(eq=False)
class _Partition:
    """Records in offset order; offsets may have gaps after compaction."""

    records: list[Record] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    next_offset: int = 0

    def append(self, record: Record) -> None:
        self.records.append(record)
        self.offsets.append(record.offset)
        self.next_offset = record.offset + 1

    def index(self, offset: int) -> int:
        return bisect.bisect_left(self.offsets, offset)

    def read(self, offset: int, limit: int) -> list[Record]:
        i = self.index(offset)
        return self.records[i : i + max(0, limit)]

    def pending(self, offset: int) -> int:
        return len(self.records) - self.index(offset)

    def drop_before(self, offset: int) -> None:
        i = self.index(offset)
        if i:
            del self.records[:i]
            del self.offsets[:i]

    def compact(self) -> None:
        latest = {r.key: r.offset for r in self.records}
        if len(self.records) - len(latest) < COMPACT_SLACK:
            return
        self.records = [r for r in self.records if latest[r.key] == r.offset]
        self.offsets = [r.offset for r in self.records]


class MemoryBus(Bus):
    """A thread-safe in-process bus with per-group offsets, retention by commit and
    optional backpressure."""

    def __init__(
        self,
        partitions: int = 1,
        capacity: Mapping[str, int] | None = None,
        send_timeout: float | None = None,
        compacted: Iterable[str] = (),
    ) -> None:
        if partitions < 1:
            raise ValueError("partitions must be >= 1")
        self.partitions = partitions
        self.capacity = dict(capacity or {})
        self.send_timeout = send_timeout
        self.compacted = frozenset(compacted)
        self._logs: dict[str, list[_Partition]] = {}
        self._committed: dict[tuple[str, str, int], int] = {}
        self._cond = threading.Condition()
        self._closed = False
        self.wakes = 0  # how many times wake() ended the waiting polls

    # -- log access (used by producers and consumers of this bus) -------------
    def _log(self, topic: str) -> list[_Partition]:
        if topic not in self._logs:
            self._logs[topic] = [_Partition() for _ in range(self.partitions)]
        return self._logs[topic]

    def partition_for(self, key: bytes) -> int:
        return zlib.crc32(key) % self.partitions

    def _groups(self, topic: str) -> set[str]:
        return {g for (g, t, _p) in self._committed if t == topic}

    def _backlog(self, topic: str) -> int:
        log = self._log(topic)
        return max(
            (
                sum(
                    part.pending(self._committed.get((g, topic, p), 0))
                    for p, part in enumerate(log)
                )
                for g in self._groups(topic)
            ),
            default=0,
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
            part.append(
                Record(topic, p, part.next_offset, bytes(key), value, list(headers), time.time())
            )
            if topic in self.compacted:
                part.compact()
            self._cond.notify_all()

    def read(self, topic: str, partition: int, offset: int, limit: int) -> list[Record]:
        with self._cond:
            return self._log(topic)[partition].read(offset, limit)

    def committed(self, group: str, topic: str, partition: int) -> int:
        with self._cond:
            return self._committed.get((group, topic, partition), 0)

    def start_offset(self, topic: str, partition: int, from_beginning: bool) -> int:
        """Where a consumer without a committed offset starts."""
        with self._cond:
            part = self._log(topic)[partition]
            if not from_beginning:
                return part.next_offset
            return part.offsets[0] if part.offsets else part.next_offset

    def register(self, group: str, topic: str, from_beginning: bool) -> None:
        with self._cond:
            for p in range(self.partitions):
                start = self.start_offset(topic, p, from_beginning)
                self._committed.setdefault((group, topic, p), start)

    def commit_offsets(self, group: str, offsets: Mapping[tuple[str, int], int]) -> None:
        with self._cond:
            for (topic, p), off in offsets.items():
                self._committed[(group, topic, p)] = off
            for topic in {t for t, _p in offsets}:
                self._drop_committed(topic)
            self._cond.notify_all()

    def _drop_committed(self, topic: str) -> None:
        """Drop the records every group of ``topic`` has committed (not for compacted ones)."""
        groups = self._groups(topic)
        if topic in self.compacted or not groups:
            return
        for p, part in enumerate(self._log(topic)):
            part.drop_before(min(self._committed[(g, topic, p)] for g in groups))

    def retained(self, topic: str) -> int:
        """How many records of ``topic`` the bus still holds (all partitions)."""
        with self._cond:
            return sum(len(part.records) for part in self._log(topic))

    def wait(self, timeout: float) -> bool:
        """Up to ``timeout`` for a record to arrive; False once the bus is closed."""
        with self._cond:
            if not self._closed:
                self._cond.wait(timeout=timeout)
            return not self._closed

    def messages(self, topic: str) -> list[Record]:
        """Every retained record of a topic (all partitions, in offset order): for tests."""
        with self._cond:
            return [r for part in self._log(topic) for r in part.records]

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

    def wake(self) -> None:
        """End every waiting poll now, empty if nothing came (the caller's reason to
        wait changed: a source ended)."""
        with self._cond:
            self.wakes += 1
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
    """Reads from the group's committed offsets; ``commit`` stores its position.

    The group ``""`` is group-less: it starts where ``from_beginning`` says, keeps its
    position to itself, and holds no record back from retention.
    """

    def __init__(
        self, bus: MemoryBus, topics: Sequence[str], group: str, from_beginning: bool
    ) -> None:
        self.bus = bus
        self.topics = list(topics)
        self.group = group
        parts = [(t, p) for t in self.topics for p in range(bus.partitions)]
        self._ends = {tp: bus.start_offset(*tp, from_beginning=False) for tp in parts}
        if group:
            for topic in self.topics:
                bus.register(group, topic, from_beginning)
            self._position = {tp: bus.committed(group, *tp) for tp in parts}
        else:
            self._position = {tp: bus.start_offset(*tp, from_beginning) for tp in parts}

    def _fetch(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        for (topic, p), off in self._position.items():
            got = self.bus.read(topic, p, off, max_records - len(out))
            if got:
                self._position[(topic, p)] = got[-1].offset + 1
            out.extend(got)
            if len(out) >= max_records:
                break
        return out

    def poll(self, max_records: int = 100, timeout: float = 0.0) -> list[Record]:
        deadline, wakes = time.monotonic() + timeout, self.bus.wakes
        while True:
            got = self._fetch(max_records)
            left = deadline - time.monotonic()
            if got or left <= 0:
                return got
            if not self.bus.wait(min(left, 0.1)) or self.bus.wakes != wakes:
                return self._fetch(max_records)  # closed, or woken: return what is there

    def caught_up(self) -> bool:
        return all(self._position.get(tp, 0) >= end for tp, end in self._ends.items())

    def commit(self) -> None:
        if self.group:
            self.bus.commit_offsets(self.group, self._position)

    def commit_through(self, records: Sequence[Record]) -> None:
        if self.group and records:
            self.bus.commit_offsets(self.group, next_offsets(records))

    def close(self) -> None:
        self._position = {}

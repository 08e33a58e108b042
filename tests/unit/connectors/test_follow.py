"""The compacted-topic follower (queries in the worker, camera status in the API)."""

from __future__ import annotations

from connectors.bus import MemoryBus
from connectors.bus.base import Record
from connectors.bus.follow import CompactedFollower
from tests.waiting import wait_until


def test_ready_once_the_backlog_is_applied_then_new_records_follow() -> None:
    bus = MemoryBus(compacted=["q"])
    p = bus.producer()
    for i in range(300):
        p.send("q", f"k{i % 7}".encode(), str(i).encode())
    table: dict[bytes, bytes | None] = {}
    seen_when_ready: list[int] = []

    def apply(r: Record) -> None:
        table[r.key] = r.value

    follower = CompactedFollower(bus, "q", apply, poll_s=0.02).start()
    try:
        assert follower.ready.wait(5.0)
        seen_when_ready.append(len(table))
        latest = {j: max(i for i in range(300) if i % 7 == j) for j in range(7)}
        assert table == {f"k{j}".encode(): str(i).encode() for j, i in latest.items()}
        p.send("q", b"k0", None)  # a tombstone after start-up
        assert wait_until(lambda: table.get(b"k0", b"") is None)
    finally:
        follower.stop()
    assert seen_when_ready == [7]


def test_refused_records_are_not_counted_and_do_not_stop_it() -> None:
    bus = MemoryBus()
    p = bus.producer()
    for v in (b"ok", b"bad", b"ok"):
        p.send("t", b"k", v)

    def apply(r: Record) -> bool:
        if r.value == b"bad":
            raise ValueError("boom")  # a bug in apply: logged, the follower goes on
        return True

    follower = CompactedFollower(bus, "t", apply, poll_s=0.02).start()
    try:
        assert follower.ready.wait(5.0)
        assert wait_until(lambda: follower.applied == 2)
    finally:
        follower.stop()


def test_an_empty_topic_is_ready_at_once() -> None:
    follower = CompactedFollower(MemoryBus(), "empty", lambda r: None, poll_s=0.02).start()
    try:
        assert follower.ready.wait(2.0)
    finally:
        follower.stop()

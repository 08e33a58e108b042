"""The in-process bus: ordering, consumer groups, commits, partitioning, backpressure."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.bus import MemoryBus, Topics
from pipeline.errors import BusError


def _values(records) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [r.value for r in records]


def test_topics_with_prefix() -> None:
    t = Topics.with_prefix("x.")
    assert (t.segments, t.queries, t.answers, t.deadletter) == (
        "x.segments",
        "x.queries",
        "x.answers",
        "x.deadletter",
    )


def test_wake_ends_a_waiting_poll_and_a_record_still_comes_through() -> None:
    bus = MemoryBus()
    c = bus.consumer(["t"], "g")
    got: list[list[bytes]] = []
    t = threading.Thread(target=lambda: got.append(_values(c.poll(timeout=60))))
    t.start()
    time.sleep(0.05)
    bus.wake()
    t.join(timeout=10)
    assert not t.is_alive() and got == [[]]  # woken long before its 60 s
    bus.producer().send("t", b"k", b"1", [])
    assert _values(c.poll(timeout=60)) == [b"1"]  # a later poll is not woken by the old wake


def test_groups_read_independently_and_resume_after_commit() -> None:
    bus = MemoryBus()
    p = bus.producer()
    for i in range(5):
        p.send("t", b"k", str(i).encode(), [("h", b"v")])
    a = bus.consumer(["t"], "a")
    b = bus.consumer(["t"], "b")
    assert _values(a.poll(max_records=3)) == [b"0", b"1", b"2"]
    a.commit()
    assert _values(b.poll()) == [b"0", b"1", b"2", b"3", b"4"]
    again = bus.consumer(["t"], "a")  # a restarted member of group a
    assert _values(again.poll()) == [b"3", b"4"]


def test_uncommitted_records_are_redelivered() -> None:
    bus = MemoryBus()
    bus.producer().send("t", b"k", b"x")
    first = bus.consumer(["t"], "g")
    assert len(first.poll()) == 1  # no commit: crash before processing finished
    assert _values(bus.consumer(["t"], "g").poll()) == [b"x"]


def test_same_key_same_partition_in_order() -> None:
    bus = MemoryBus(partitions=4)
    p = bus.producer()
    for i in range(20):
        p.send("t", f"cam{i % 3}".encode(), str(i).encode())
    records = bus.messages("t")
    for cam in (b"cam0", b"cam1", b"cam2"):
        mine = [r for r in records if r.key == cam]
        assert len({r.partition for r in mine}) == 1
        assert [int(r.value) for r in mine] == sorted(int(r.value) for r in mine)


def test_poll_waits_for_a_message_from_another_thread() -> None:
    bus = MemoryBus()
    c = bus.consumer(["t"], "g")
    threading.Timer(0.1, lambda: bus.producer().send("t", b"k", b"late")).start()
    t0 = time.monotonic()
    assert _values(c.poll(timeout=2.0)) == [b"late"]
    assert time.monotonic() - t0 < 1.5


def test_closing_the_bus_ends_a_waiting_poll_with_what_is_left() -> None:
    """A follower thread blocked in ``poll`` stops when the run closes the bus, instead of
    waiting its timeout out (the embedded run's end would wait for it)."""
    bus = MemoryBus()
    c = bus.consumer(["t"], "g")
    bus.producer().send("t", b"k", b"v")
    assert _values(c.poll()) == [b"v"]
    threading.Timer(0.1, bus.close).start()
    t0 = time.monotonic()
    assert c.poll(timeout=5.0) == []
    assert time.monotonic() - t0 < 2.0


def test_capacity_blocks_producer_until_consumer_commits() -> None:
    bus = MemoryBus(capacity={"t": 2}, send_timeout=0.3)
    c = bus.consumer(["t"], "g")
    p = bus.producer()
    p.send("t", b"k", b"1")
    p.send("t", b"k", b"2")
    with pytest.raises(BusError):
        p.send("t", b"k", b"3")  # backlog full, nobody commits
    c.poll()
    c.commit()
    p.send("t", b"k", b"3")
    assert _values(c.poll()) == [b"3"]


def test_closed_bus_refuses_sends() -> None:
    bus = MemoryBus()
    bus.close()
    with pytest.raises(BusError):
        bus.producer().send("t", b"k", b"v")


def test_records_every_group_committed_are_dropped() -> None:
    bus = MemoryBus()
    p = bus.producer()
    fast, slow = bus.consumer(["t"], "fast"), bus.consumer(["t"], "slow")
    for i in range(10):
        p.send("t", b"k", str(i).encode())
    fast.poll()
    fast.commit()
    assert bus.retained("t") == 10  # the slow group has not read them yet
    assert _values(slow.poll(max_records=4)) == [b"0", b"1", b"2", b"3"]
    slow.commit()
    assert bus.retained("t") == 6
    assert _values(bus.consumer(["t"], "slow").poll()) == [b"4", b"5", b"6", b"7", b"8", b"9"]
    p.send("t", b"k", b"10")
    records = slow.poll()
    assert [r.offset for r in records] == [4, 5, 6, 7, 8, 9, 10]  # offsets keep counting
    slow.commit()
    assert bus.retained("t") == 1  # record 10: the fast group has not committed it
    fast.poll()
    fast.commit()
    assert bus.retained("t") == 0


def test_a_long_run_holds_only_the_uncommitted_backlog() -> None:
    bus = MemoryBus(capacity={"t": 4}, send_timeout=1.0)
    c = bus.consumer(["t"], "g")
    p = bus.producer()
    for i in range(5000):
        p.send("t", b"k", bytes(1000))
        if i % 3 == 0:
            c.poll()
            c.commit()
    assert bus.retained("t") <= 4


def test_compacted_topic_keeps_the_latest_record_per_key() -> None:
    bus = MemoryBus(compacted=["q"])
    c = bus.consumer(["q"], "g")
    p = bus.producer()
    for i in range(500):
        p.send("q", f"k{i % 3}".encode(), str(i).encode())
    c.poll(max_records=1000)
    c.commit()  # a commit never drops a compacted topic's records
    late = bus.consumer(["q"], "late")
    latest = {r.key: r.value for r in late.poll(max_records=1000)}
    assert latest == {b"k0": b"498", b"k1": b"499", b"k2": b"497"}
    assert bus.retained("q") < 3 + 64


def test_group_less_consumer_holds_nothing_back() -> None:
    bus = MemoryBus()
    p = bus.producer()
    p.send("t", b"k", b"0")
    follower = bus.consumer(["t"], "", from_beginning=True)
    g = bus.consumer(["t"], "g")
    assert _values(follower.poll()) == [b"0"]
    g.poll()
    g.commit()
    assert bus.retained("t") == 0
    p.send("t", b"k", b"1")
    assert _values(follower.poll()) == [b"1"]

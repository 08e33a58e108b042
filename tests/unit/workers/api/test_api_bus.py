"""Query changes reach the compacted queries topic; a bus failure leaves no half-change."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.bus import MemoryBus
from connectors.bus.base import Bus, Consumer, Producer
from connectors.bus.messages import decode_query
from connectors.store import Store
from pipeline.errors import BusError
from tests.unit.workers.api.scenarios import READ, ApiHarness

TOPIC = "feedwatch.queries"


def test_create_update_delete_publish_to_the_queries_topic(sqlite_store: Store) -> None:
    bus = MemoryBus()
    h = ApiHarness(sqlite_store, bus=bus)
    qid = h.create("is the gate open?", every=2, window=8)["id"]
    h.call("PATCH", f"/api/queries/{qid}", json={"question": "is the gate closed?"})
    h.call("DELETE", f"/api/queries/{qid}")
    records = bus.messages(TOPIC)
    decoded = [decode_query(r.key, r.value, r.headers) for r in records]
    assert [key for key, _ in decoded] == [qid, qid, qid]
    created, updated, tombstone = (q for _, q in decoded)
    assert created is not None and (
        created.question,
        created.every,
        created.window,
        created.version,
    ) == ("is the gate open?", 2.0, 8.0, 1)
    assert updated is not None and (updated.question, updated.version) == ("is the gate closed?", 2)
    assert tombstone is None


class _BrokenProducer(Producer):
    def send(
        self, topic: str, key: bytes, value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        raise BusError("broker down")

    def flush(self, timeout: float | None = None) -> None:
        return None


class _BrokenBus(Bus):
    def producer(self) -> Producer:
        return _BrokenProducer()

    def consumer(
        self, topics: Sequence[str], group: str, *, from_beginning: bool = True
    ) -> Consumer:
        raise BusError("broker down")


def test_a_bus_failure_is_503_and_the_store_is_unchanged(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, bus=_BrokenBus())
    resp = h.call("POST", "/api/queries", json={"question": "q"})
    assert resp.status_code == 503 and "broker down" in resp.json()["detail"]
    assert h.call("GET", "/api/queries", READ).json() == []

    ok = ApiHarness(sqlite_store)  # a query made while the bus was fine
    qid = ok.create("is it raining?")["id"]
    assert h.call("PATCH", f"/api/queries/{qid}", json={"question": "snow?"}).status_code == 503
    assert h.call("DELETE", f"/api/queries/{qid}").status_code == 503
    kept = h.call("GET", f"/api/queries/{qid}", READ).json()
    assert (kept["question"], kept["version"]) == ("is it raining?", 1)

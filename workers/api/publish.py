"""Publishing standing queries to the bus's compacted ``queries`` topic.

In Kafka mode this is how workers learn about new, changed and deleted queries; in
embedded mode the in-process bus carries the same messages. Without a bus the API
only writes the store.
"""

from __future__ import annotations

from connectors.bus.base import Bus, Producer
from connectors.bus.messages import encode_query, encode_query_tombstone
from pipeline.errors import BusError
from pipeline.types import StandingQuery


class QueryPublisher:
    """Sends a query (or its tombstone) and waits until the bus has it."""

    def __init__(self, bus: Bus | None, topic: str, flush_timeout: float = 10.0) -> None:
        self.bus = bus
        self.topic = topic
        self.flush_timeout = flush_timeout
        self._producer: Producer | None = None

    def _send(self, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        if self.bus is None:
            return
        try:
            if self._producer is None:
                self._producer = self.bus.producer()
            self._producer.send(self.topic, key, value, headers)
            self._producer.flush(self.flush_timeout)
        except BusError:
            raise
        except Exception as exc:  # a client library error: report it as the bus failing
            raise BusError(f"publishing to {self.topic!r} failed: {exc}") from exc

    def put(self, query: StandingQuery) -> None:
        self._send(*encode_query(query))

    def delete(self, query_id: str) -> None:
        self._send(*encode_query_tombstone(query_id))

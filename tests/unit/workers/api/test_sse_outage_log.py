"""An outage of the store is logged once per API process, not once per open stream."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pipeline.errors import StoreError
from workers.api.sse import Outage


class Store:
    def __init__(self) -> None:
        self.up = True

    def read(self) -> int:
        if not self.up:
            raise StoreError("connection refused")
        return 7


def test_fifty_streams_log_an_outage_once_and_its_end_once(caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    store, streams = Store(), [Outage() for _ in range(50)]

    async def each(want: int | None) -> None:
        assert [await s.read(store.read) for s in streams] == [want] * len(streams)

    with caplog.at_level(logging.INFO, logger="workers.api.sse"):
        asyncio.run(each(7))
        store.up = False
        asyncio.run(each(None))
        asyncio.run(each(None))
        streams[0].close()  # a stream that ends during the outage
        streams.pop(0)
        store.up = True
        asyncio.run(each(7))
    assert [r.getMessage() for r in caplog.records] == [
        "answers streams: store unavailable, waiting for it: connection refused",
        "answers streams: the store answers again"]
    assert Outage.streams_down == 0

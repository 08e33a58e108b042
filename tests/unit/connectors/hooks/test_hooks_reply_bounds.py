"""A hook receiver cannot stall alerting with its reply (issue 26): a delivery reads at
most 64 KiB of it, within one total deadline, however it streams."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from connectors.hooks.base import HookTarget
from connectors.hooks.delivery import REPLY_MAX, AttemptResult, Sender
from tests.unit.connectors.hooks.test_hooks_channels import MSG

CHUNK = 16 * 1024
pytestmark = pytest.mark.timeout(30)  # reading a reply whole would never end


class Endless(httpx.SyncByteStream):
    """A reply body that never ends, ``pause`` s between chunks; counts what was taken."""

    def __init__(self, chunk: bytes, pause: float = 0.0) -> None:
        self.chunk, self.pause, self.taken = chunk, pause, 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            time.sleep(self.pause)
            self.taken += len(self.chunk)
            yield self.chunk


def _attempt(status: int, body: Endless, deadline_s: float = 0.5) -> tuple[float, AttemptResult]:
    reply = httpx.MockTransport(lambda request: httpx.Response(status, stream=body))
    sender = Sender(httpx.Client(transport=reply), resolve=lambda h, p: ["93.184.216.34"],
                    deadline_s=deadline_s)
    target = HookTarget(id="h1", url="https://hooks.example/x")
    t0 = time.monotonic()
    result = sender.attempt(target, MSG, "inc-1:opened:h1")
    sender.close()
    return time.monotonic() - t0, result


def test_an_endless_reply_is_read_to_64_kib_only() -> None:
    body = Endless(b"x" * CHUNK)
    took, result = _attempt(200, body)
    assert result.ok
    assert body.taken <= REPLY_MAX
    assert took < 0.5


def test_a_trickling_reply_is_cut_at_the_deadline() -> None:
    body = Endless(b"y", pause=0.05)
    took, result = _attempt(500, body, deadline_s=0.5)
    assert 0.4 <= took < 1.5
    assert (result.error or "").startswith("HTTP 500: yyy") and result.retryable

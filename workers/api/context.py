"""What every route needs, built once by ``create_app`` and kept on ``app.state.fw``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fastapi import Request

from connectors.bus.base import Bus
from connectors.store.reads import Reads
from workers.api.auth import TokenAuth
from workers.api.live import AnswerNotifier, CameraStatusRegistry
from workers.api.publish import QueryPublisher
from workers.config import ApiSettings


@dataclass(frozen=True)
class ApiContext:
    settings: ApiSettings
    data: Reads
    bus: Bus | None
    publisher: QueryPublisher
    registry: CameraStatusRegistry
    notifier: AnswerNotifier
    auth: TokenAuth
    closing: threading.Event = field(default_factory=threading.Event)
    query_locks: tuple[threading.Lock, ...] = field(
        default_factory=lambda: tuple(threading.Lock() for _ in range(64)))

    def query_lock(self, query_id: str) -> threading.Lock:
        """One lock per query id (striped): a PATCH and a DELETE of one query in this API
        process store and publish in turn, so the bus sees them in the store's order."""
        return self.query_locks[hash(query_id) % len(self.query_locks)]

    def close_streams(self) -> None:
        """End every live stream (before a server shutdown, which would otherwise wait)."""
        self.closing.set()
        self.notifier.notify()


def context(request: Request) -> ApiContext:
    """The route dependency that hands out the app's context."""
    ctx: ApiContext = request.app.state.fw
    return ctx

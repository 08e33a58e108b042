"""What the sealed-secret tests share: a SQLite store, a secrets box from key strings,
and one answer evaluated and delivered through the real outbox and delivery worker."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx

from connectors.hooks.delivery import DeliverySchedule, Sender
from connectors.store import Store
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import AlertStore
from connectors.store.secret_box import SecretBox
from pipeline.types import Answer
from workers.alerts.delivery import DeliveryWorker
from workers.alerts.engine import Evaluator

PUBLIC = "93.184.216.34"


def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite store in ``tmp_path``, closed afterwards (``yield from`` it in a fixture)."""
    s = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    yield s
    s.close()


def box(*keys: str) -> SecretBox:
    return SecretBox([k.encode() for k in keys])


def deliver(store: Store, secrets: SecretBox | None) -> tuple[list[httpx.Request], dict]:
    """A matching answer through the evaluator and one delivery pass; (requests the
    receiver got, the delivery row)."""
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text="ok")

    answer = Answer("q1", "red?", "cam", 0.0, 1.0, 1.0, "clip", "yes", True, None, (), (), 0, 1.0)
    store.insert_answers([answer])
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    client = httpx.Client(transport=httpx.MockTransport(receive))
    worker = DeliveryWorker(outbox, Sender(client, resolve=lambda h, p: [PUBLIC]),
                            DeliverySchedule(base=0.01), rng=random.Random(0), secrets=secrets)
    worker.run_once()
    worker.close()
    return sent, AlertStore(store.engine).deliveries()[0]

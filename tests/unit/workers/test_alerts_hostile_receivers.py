"""Receivers that never finish answering, and hooks that hang: an attempt ends at its
deadline whatever the receiver does, and a hook that hangs never holds back another
hook's alerts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from connectors.hooks.base import HookTarget, UnsafeTargetError
from connectors.hooks.delivery import DeliverySchedule, Sender
from connectors.hooks.safety import check_target
from connectors.store import Store
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import AlertStore
from pipeline.alerts.model import Rule
from tests.unit.connectors.hooks.test_hooks_delivery import MSG
from tests.unit.workers.test_alerts_worker import BOX, PUBLIC, answers
from workers.alerts.delivery import DeliveryWorker
from workers.alerts.engine import Evaluator


@dataclass(frozen=True)
class _Settings:
    timeout_s: float = 1.0
    allow_private: bool = True


def _serve(reply: bytes, drip: bool) -> Iterator[int]:
    """A receiver on 127.0.0.1 that sends ``reply`` (a byte every 0.1 s when ``drip``,
    forever after it) or all at once and then closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                if not drip:
                    conn.sendall(reply)
                    return
                conn.sendall(reply)
                while not stop.is_set():
                    conn.sendall(b"X")
                    time.sleep(0.1)
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()


@pytest.fixture
def dripping() -> Iterator[int]:
    """The status line, then one header byte every 0.1 s: no read ever times out."""
    yield from _serve(b"HTTP/1.1 200 OK\r\nX-Slow: ", drip=True)


@pytest.fixture
def cut_short() -> Iterator[int]:
    """200 with a body of 1000 bytes announced, 5 sent, then the connection closes."""
    yield from _serve(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhello", drip=False)


def test_a_receiver_dripping_its_headers_is_cut_off_at_the_deadline(dripping: int) -> None:
    sender = Sender.from_settings(_Settings(timeout_s=1.0))
    t = time.monotonic()
    result = sender.attempt(HookTarget("h", f"http://127.0.0.1:{dripping}/x"), MSG, "k")
    took = time.monotonic() - t
    sender.close()
    assert not result.ok and result.retryable  # it waited forever before
    assert result.error == "timeout: no complete reply within 1s"
    assert took < 3.0, took


def test_a_2xx_whose_body_is_cut_short_is_delivered(cut_short: int) -> None:
    """The receiver said 200: retrying would send the same notification again."""
    sender = Sender.from_settings(_Settings())
    result = sender.attempt(HookTarget("h", f"http://127.0.0.1:{cut_short}/x"), MSG, "k")
    sender.close()
    assert result.ok and result.status == 200, result.error


def test_a_url_with_a_line_break_or_space_is_refused() -> None:
    for url in ("http://127.0.0.1:9/P\r\nX-Injected: 1", "http://h.example/a b"):
        with pytest.raises(UnsafeTargetError, match="no spaces or control characters"):
            check_target(url, allow_private=True)


def test_a_hanging_hook_holds_one_sender_and_never_another_hooks_alerts(
        tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    alerts = AlertStore(store.engine, BOX)
    slow = alerts.add_hook("https://slow.example/x", resolve=lambda h, p: [PUBLIC])
    good = alerts.add_hook("https://good.example/x", resolve=lambda h, p: [PUBLIC])
    alerts.add_rule(Rule("r1", "q1", hooks=(slow["id"], good["id"]), open_after=1,
                         close_after=1, notify_close=True))
    store.insert_answers(answers("1010101"))  # four openings, three closings, two hooks
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    release = threading.Event()
    got: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["host"].startswith("slow"):
            release.wait(10)  # hangs until the test lets it go
        got.append(request.headers["host"])
        return httpx.Response(200)

    sender = Sender(httpx.Client(transport=httpx.MockTransport(handler)),
                    resolve=lambda h, p: [PUBLIC])
    worker = DeliveryWorker(outbox, sender, DeliverySchedule(base=0.01), lease_s=30.0,
                            secrets=BOX)
    try:
        deadline = time.monotonic() + 10
        while got.count("good.example") < 7 and time.monotonic() < deadline:
            worker.start_due()
            time.sleep(0.02)
        assert got.count("good.example") == 7  # all, while the slow hook hangs
        assert "slow.example" not in got
        assert len(worker._sending) <= 2  # the slow hook's one attempt (and a good one)
    finally:
        release.set()
        worker.close()
        store.close()


def test_a_retry_after_past_the_max_age_is_named_when_the_delivery_is_given_up(
        tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    alerts = AlertStore(store.engine, BOX)
    hook = alerts.add_hook("https://busy.example/x", resolve=lambda h, p: [PUBLIC])
    alerts.add_rule(Rule("r1", "q1", hooks=(hook["id"],), open_after=1, close_after=1))
    store.insert_answers(answers("1"))
    outbox = Outbox(store.engine)
    Evaluator(outbox).run_once()
    sender = Sender(httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(429, headers={"Retry-After": "999999"}))),
        resolve=lambda h, p: [PUBLIC])
    worker = DeliveryWorker(outbox, sender, DeliverySchedule(), secrets=BOX)
    try:
        assert worker.run_once() == 1
        [row] = alerts.deliveries()
        assert row["status"] == "dead" and row["attempts"] == 1
        assert "asked to wait 999999s (Retry-After), past the max age of 86400s" in (
            row["last_error"])
    finally:
        worker.close()
        store.close()

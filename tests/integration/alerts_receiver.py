"""A real HTTP hook receiver on 127.0.0.1 for the alerting tests.

It behaves like a careful production receiver: it verifies the signature, and it
processes each ``Idempotency-Key`` once (a repeat is acknowledged, not processed).
A ``script(key, n)`` decides how the n-th request (1-based) for a key is answered:

- ``("ok",)``: process (if new) and answer 200;
- ``("status", code, headers)``: answer ``code`` without processing;
- ``("late", seconds)``: process (if new), then answer 200 only after ``seconds``
  (longer than the sender's timeout: the sender sees a timeout, the receiver has it);
- ``("hang", seconds)``: answer 503 after ``seconds`` without processing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from connectors.hooks.webhook import verify

Action = tuple


@dataclass
class Hit:
    key: str
    n: int
    t0: float
    body: bytes
    headers: dict[str, str]
    action: Action
    signature_ok: bool
    processed: bool = False
    answered: int | None = None
    t1: float | None = None


@dataclass
class Receiver:
    secret: str
    script: Callable[[str, int], Action] = lambda key, n: ("ok",)
    hits: list[Hit] = field(default_factory=list)
    processed: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                receiver._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook/secret-path"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by_key(self) -> dict[str, list[Hit]]:
        with self.lock:
            out: dict[str, list[Hit]] = {}
            for h in self.hits:
                out.setdefault(h.key, []).append(h)
            return out

    def ok_answers(self) -> Counter:
        """How many 2xx answers each key got."""
        with self.lock:
            return Counter(h.key for h in self.hits if h.answered == 200)

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length", "0")))
        headers = {k: v for k, v in req.headers.items()}
        key = headers.get("Idempotency-Key", "")
        sig_ok = verify(
            self.secret,
            headers.get("X-Feedwatch-Timestamp", ""),
            body,
            headers.get("X-Feedwatch-Signature", ""),
        )
        with self.lock:
            n = sum(1 for h in self.hits if h.key == key) + 1
            action = tuple(self.script(key, n))
            hit = Hit(key, n, time.time(), body, headers, action, sig_ok)
            self.hits.append(hit)
        kind = action[0]
        if kind in ("ok", "late") and sig_ok:
            with self.lock:
                hit.processed = self.processed[key] == 0
                self.processed[key] += 1 if hit.processed else 0
        if kind == "late":
            time.sleep(action[1])
        if kind == "hang":
            time.sleep(action[1])
        code, extra = (200, {}) if kind in ("ok", "late") else (503, {})
        if kind == "status":
            code, extra = action[1], (action[2] if len(action) > 2 else {})
        if not sig_ok:
            code = 401
        self._reply(req, hit, code, extra)

    def _reply(self, req: BaseHTTPRequestHandler, hit: Hit, code: int, extra: dict) -> None:
        try:
            req.send_response(code)
            for k, v in extra.items():
                req.send_header(k, v)
            req.send_header("Content-Length", "0")
            req.end_headers()
            req.wfile.flush()
        except OSError:
            return  # the sender gave up (timeout) or died
        finally:
            hit.t1 = time.time()
        if hit.action[0] != "late":  # a late answer reaches nobody: the sender timed out
            with self.lock:
                hit.answered = code

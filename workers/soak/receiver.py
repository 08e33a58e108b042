"""The soak's webhook receiver on 127.0.0.1: verifies signatures, dedups by key.

It behaves like a careful production receiver: a request with a bad signature is
refused (401), and each ``Idempotency-Key`` is processed once (a repeat is
acknowledged, not processed). For fault injection it can be *down* (the listening
socket is closed: connection refused) and *slow* (it answers after ``delay`` s).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connectors.hooks.webhook import verify


class SoakReceiver:
    """Counts hits and processed incidents per idempotency key."""

    def __init__(self, secret: str, port: int = 0) -> None:
        self.secret = secret
        self.port = port
        self.delay = 0.0
        self.hits: Counter[str] = Counter()
        self.processed: Counter[str] = Counter()
        self.bodies: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> SoakReceiver:
        """Listen (again) on the same port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver._handle(self)

            def log_message(self, *args: object) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the socket: senders get connection refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length", "0")))
        key = req.headers.get("Idempotency-Key", "")
        ok = verify(
            self.secret,
            req.headers.get("X-Feedwatch-Timestamp", ""),
            body,
            req.headers.get("X-Feedwatch-Signature", ""),
        )
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.hits[key] += 1
            if not ok:
                self.bad_signatures += 1
            elif self.processed[key] == 0:
                self.processed[key] = 1
                self.bodies[key] = _json(body)
        self._reply(req, 200 if ok else 401)

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, code: int) -> None:
        try:
            req.send_response(code)
            req.send_header("Content-Length", "0")
            req.end_headers()
        except OSError:
            return  # the sender gave up waiting


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

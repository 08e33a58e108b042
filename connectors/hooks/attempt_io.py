"""The connection side of one hook attempt: aimed at the checked address, its reply
read within bounds, and cut at its deadline (:class:`Cutoff`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import httpx

REPLY_MAX = 64 * 1024
"""Bytes of a receiver's reply read (undecoded); the rest is never read."""


class Cutoff:
    """Cuts an attempt's connection at its deadline. Every read has the client's timeout,
    but a receiver that drips its status line or headers a byte at a time never trips
    it: at the deadline the socket is shut down, and the attempt fails as a timeout.
    The sockets come from httpcore's ``trace`` events of the attempt's own connection."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> Cutoff:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                expired = self.expired
            if expired:
                _shut(sock)

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def pinned(url: str, address: str, headers: dict[str, str]) -> tuple[httpx.URL, dict[str, Any]]:
    """``url`` aimed at the checked ``address`` (no second DNS lookup that could be
    rebound to a private address); ``Host`` and TLS SNI/verification keep the name."""
    parsed = httpx.URL(url)
    host = parsed.host
    name = f"[{host}]" if ":" in host else host
    headers["Host"] = name if parsed.port is None else f"{name}:{parsed.port}"
    extensions: dict[str, Any] = {"sni_hostname": host} if parsed.scheme == "https" else {}
    return parsed.copy_with(host=address.split("%", 1)[0]), extensions


def read_head(response: httpx.Response, deadline: float) -> bytes:
    """At most :data:`REPLY_MAX` undecoded bytes of the reply, read until ``deadline``
    (``time.monotonic``); the response is closed with the rest unread."""
    if response.is_stream_consumed:  # read already (a transport that buffers replies)
        return response.content[:REPLY_MAX]
    head = bytearray()
    for chunk in response.iter_raw():
        head += chunk
        if len(head) >= REPLY_MAX or time.monotonic() >= deadline:
            break
    return bytes(head[:REPLY_MAX])

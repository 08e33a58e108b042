"""A 300 MB body without a token never makes a real `feedwatch api` process read it
(issue 26): declared with Content-Length or streamed chunked, it is answered 413 (or
401) and the process' RSS grows by less than 50 MB."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from api_process import ApiProcess, api_process

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
MIB = 1 << 20
HEAD = "POST /api/queries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def _answer(sock: socket.socket, into: bytearray) -> None:
    try:
        while chunk := sock.recv(65536):
            into += chunk
    except OSError:
        return


def _send(api: ApiProcess, headers: str, body_chunk: bytes, total: int) -> tuple[bytes, int]:
    """Send the head, then ``body_chunk`` until ``total`` bytes, the answer or a closed
    socket; (the answer, bytes of body sent)."""
    host, port = api.url.split("//")[1].rsplit(":", 1)
    answer, sent = bytearray(), 0
    with socket.create_connection((host, int(port))) as sock:
        reader = threading.Thread(target=_answer, args=(sock, answer), daemon=True)
        reader.start()
        sock.sendall((HEAD + headers + "\r\n").encode())
        deadline = time.monotonic() + 30
        try:
            while sent < total and not answer and time.monotonic() < deadline:
                sock.sendall(body_chunk)
                sent += len(body_chunk)
        except OSError:  # answered and closed: the server stopped reading
            pass
        reader.join(10)
    return bytes(answer), sent


def test_a_300_mb_unauthenticated_body_is_not_read(tmp_path: Path) -> None:
    with api_process(tmp_path, "rss-write-token", "rss-read-token") as api:
        before = api.rss_bytes()
        declared, sent_declared = _send(api, f"Content-Length: {300 * MIB}\r\n",
                                        b" " * MIB, 300 * MIB)
        chunk = b"%x\r\n%s\r\n" % (MIB, b" " * MIB)
        chunked, sent_chunked = _send(api, "Transfer-Encoding: chunked\r\n", chunk, 300 * MIB)
        grown = api.rss_bytes() - before
    for answer in (declared, chunked):
        assert answer[:12] in (b"HTTP/1.1 413", b"HTTP/1.1 401"), answer[:200]
    assert sent_declared < 64 * MIB and sent_chunked < 64 * MIB  # kernel buffers at most
    assert grown < 50 * MIB, f"RSS grew by {grown / MIB:.1f} MiB"

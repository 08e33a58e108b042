"""Request bodies are bounded before anything reads, authenticates or parses them
(issue 26): over the limit is a 413 whether the client declares the length or streams
the body chunked, and a 422 quotes only a short excerpt of what it refuses."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

from connectors.store import Store
from tests.unit.workers.api.scenarios import WRITE, ApiHarness

MIB = 1 << 20


def _status(sock: socket.socket) -> int:
    """The status code of the response on ``sock``."""
    sock.settimeout(10)
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


def _request(path: str, headers: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"{headers}\r\n").encode()


def test_a_declared_300_mb_body_is_refused_before_it_is_sent(sqlite_store: Store) -> None:
    with ApiHarness(sqlite_store).served() as url, _connect(url) as sock:
        sock.sendall(_request("/api/queries", f"Content-Length: {300 * MIB}\r\n"))
        assert _status(sock) == 413  # no token either: the length is refused first


def test_a_chunked_body_is_cut_at_the_limit(sqlite_store: Store) -> None:
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    sent, answer = 0, bytearray()
    with ApiHarness(sqlite_store).served() as url, _connect(url) as sock:
        reader = threading.Thread(target=_read_all, args=(sock, answer), daemon=True)
        reader.start()
        sock.sendall(_request("/api/queries", "Transfer-Encoding: chunked\r\n"))
        deadline = time.monotonic() + 20
        try:
            while sent < 300 * MIB and not answer and time.monotonic() < deadline:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server answered and closed: it stopped reading
            pass
        reader.join(10)
    assert bytes(answer).startswith(b"HTTP/1.1 413"), bytes(answer[:200])
    assert sent < 64 * MIB  # what the kernel buffers, not the 300 MB


def _connect(url: str) -> socket.socket:
    host, port = url.split("//")[1].rsplit(":", 1)
    return socket.create_connection((host, int(port)))


def _read_all(sock: socket.socket, into: bytearray) -> None:
    try:
        while chunk := sock.recv(65536):
            into += chunk
    except OSError:
        return


def test_the_limit_is_a_setting_and_small_bodies_still_pass(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store, api={"max_body_bytes": 2048})
    big = h.call("POST", "/api/queries", json={"question": "q" * 4000})
    assert big.status_code == 413 and "2048" in big.json()["detail"]
    streamed = h._client.post("/api/queries", content=_chunks(4, 1024),
                              headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert h.call("POST", "/api/queries", json={"question": "is it red?"}).status_code == 201


def _chunks(n: int, size: int) -> Iterator[bytes]:
    yield b'{"question": "'
    for _ in range(n):
        yield b"q" * size
    yield b'"}'


def test_a_422_quotes_only_an_excerpt(sqlite_store: Store) -> None:
    h = ApiHarness(sqlite_store)
    resp = h.call("POST", "/api/queries", json={"question": "q", "every": "x" * 500_000,
                                                "settings": {"k": ["y" * 1000] * 100}})
    assert resp.status_code == 422
    assert len(resp.content) < 2000, len(resp.content)
    assert h.call("POST", "/api/queries", WRITE, json={"question": "ok?"}).status_code == 201

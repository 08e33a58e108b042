"""A real ``feedwatch api`` process on a fresh SQLite store, for tests that need the
process itself (its RSS, its own runner), not the app in a thread."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class ApiProcess:
    url: str
    pid: int

    def rss_bytes(self) -> int:
        """The process' resident set size, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for pid {self.pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def api_process(tmp_path: Path, write: str, read: str) -> Iterator[ApiProcess]:
    """``feedwatch api`` with these tokens, up (``/health`` 200) while the block runs."""
    port = free_port()
    env = {**os.environ, "FEEDWATCH_API_WRITE_TOKENS": write,
           "FEEDWATCH_API_READ_TOKENS": read, "FEEDWATCH_KAFKA_BOOTSTRAP": "",
           "FEEDWATCH_STORE_URL": f"sqlite:///{tmp_path / 'api.db'}"}
    log = (tmp_path / "api.log").open("w")
    proc = subprocess.Popen([str(BIN / "feedwatch"), "api", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _up(url):
            assert proc.poll() is None and time.monotonic() < deadline, (
                (tmp_path / "api.log").read_text())
            time.sleep(0.2)
        yield ApiProcess(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

"""``feedwatch api``: the command serves the app with settings from flags and environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from workers.cli.main import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_shows_env_fallbacks(capsys: object) -> None:
    assert main(["api", "--help"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    for name in ("FEEDWATCH_STORE_URL", "FEEDWATCH_KAFKA_BOOTSTRAP", "FEEDWATCH_API_PORT"):
        assert name in out


def test_serves_with_tokens_from_the_environment(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "FEEDWATCH_API_WRITE_TOKENS": "cli-secret",
        "FEEDWATCH_KAFKA_BOOTSTRAP": "",
    }
    db = f"sqlite:///{tmp_path / 'api.db'}"
    script = Path(sys.executable).with_name("feedwatch")
    cmd = [str(script), "api", "--db", db, "--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (
                proc.stdout and proc.stdout.read()
            )
            time.sleep(0.2)
        assert httpx.get(f"{url}/api/queries", timeout=5).status_code == 401
        auth = {"Authorization": "Bearer cli-secret"}
        made = httpx.post(f"{url}/api/queries", json={"question": "q"}, headers=auth, timeout=5)
        assert made.status_code == 201
        assert httpx.get(f"{url}/ready", timeout=5).json()["checks"]["database"]["ok"] is True
    finally:
        proc.terminate()
        proc.wait(10)
    assert (tmp_path / "api.db").exists()


def test_stops_on_sigterm_while_a_dashboard_holds_a_live_stream(tmp_path: Path) -> None:
    """uvicorn waited for every open connection: an open dashboard's answer stream kept a
    stopped ``feedwatch api`` running (still there 20 s after SIGTERM), and its port bound
    to a process that no longer served."""
    port = _free_port()
    root = Path(__file__).resolve().parents[4]
    env = {**os.environ, "FEEDWATCH_KAFKA_BOOTSTRAP": "", "FEEDWATCH_API_WRITE_TOKENS": "",
           "FEEDWATCH_API_READ_TOKENS": "stream-reader", "PYTHONPATH": str(root)}
    script = Path(sys.executable).with_name("feedwatch")
    cmd = [str(script), "api", "--db", f"sqlite:///{tmp_path / 'api.db'}", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _healthy(url):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        auth = {"Authorization": "Bearer stream-reader"}
        with httpx.stream("GET", f"{url}/api/answers/stream", headers=auth, timeout=10) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            proc.terminate()
            stopped = time.monotonic()
            for _ in lines:  # read on, like a browser: the server ends it
                assert time.monotonic() - stopped < 5, "the stream outlived the stop"
        assert proc.wait(5) == 143  # stopped by SIGTERM, as every command
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

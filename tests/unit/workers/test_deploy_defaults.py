"""Safe deployment defaults: the example tokens are refused at start-up, and the
unauthenticated worker/ingest ``/metrics`` listens on this host unless told otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from connectors.store import Store
from pipeline.errors import ConfigError
from workers.api.app import create_app
from workers.cli.main import main
from workers.config import ApiSettings, Settings, load_settings
from workers.ops import metrics

DOCKER = Path(__file__).resolve().parents[3] / "docker"


def _example_env() -> dict[str, str]:
    lines = (DOCKER / "feedwatch.env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


@pytest.mark.parametrize("variable", ["FEEDWATCH_API_READ_TOKENS", "FEEDWATCH_API_WRITE_TOKENS"])
def test_the_api_refuses_to_start_with_an_example_token(tmp_path: Path, variable: str) -> None:
    example = _example_env()[variable]
    assert example.startswith("change-me")
    env = {**os.environ, "FEEDWATCH_API_READ_TOKENS": "a-real-read-secret",
           "FEEDWATCH_API_WRITE_TOKENS": "a-real-write-secret", variable: example,
           "FEEDWATCH_KAFKA_BOOTSTRAP": ""}
    script = Path(sys.executable).with_name("feedwatch")
    done = subprocess.run(
        [str(script), "api", "--db", f"sqlite:///{tmp_path / 'api.db'}", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert variable in done.stderr and "example token" in done.stderr
    assert "a-real" not in done.stderr  # the other tokens are not printed


def test_create_app_refuses_example_tokens_in_any_position(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    tokens = (SecretStr("a-real-write-secret"), SecretStr(" Change-Me-x7Kq2"))
    settings = load_settings().model_copy(update={"api": ApiSettings(write_tokens=tokens)})
    with pytest.raises(ConfigError, match="api.write_tokens") as refused:
        create_app(settings, store)
    assert "x7Kq2" not in str(refused.value) and "a-real" not in str(refused.value)
    fine = load_settings().model_copy(
        update={"api": ApiSettings(write_tokens=(SecretStr("please-change-me-later"),))}
    )
    assert create_app(fine, store) is not None  # only the example's own prefix is refused
    store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening_on(port: int) -> set[str]:
    """The addresses a socket listens on ``port`` at, as the kernel lists them."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                found.add(socket.inet_ntoa(raw[::-1]) if len(raw) == 4 else f"v6:{address}")
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_metrics_listen_on_loopback_by_default() -> None:
    assert Settings().metrics_host == "127.0.0.1"
    port = _free_port()
    assert metrics.serve(port) is True
    assert _listening_on(port) == {"127.0.0.1"}


class _Stop(Exception):
    pass


@pytest.mark.parametrize(("env", "expected"), [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])  # noqa: S104
def test_worker_and_ingest_serve_metrics_on_the_configured_host(
    monkeypatch: pytest.MonkeyPatch, env: str | None, expected: str
) -> None:
    if env is None:
        monkeypatch.delenv("FEEDWATCH_METRICS_HOST", raising=False)
    else:
        monkeypatch.setenv("FEEDWATCH_METRICS_HOST", env)
    served: list[tuple[int, str]] = []

    def serve(port: int, addr: str = "unset") -> bool:
        served.append((port, addr))
        raise ConfigError("--metrics-port", port, "stopped by the test")

    class Worker:
        def run(self, **_: Any) -> None:
            raise AssertionError("metrics are served before the worker runs")

    monkeypatch.setattr(metrics, "serve", serve)
    monkeypatch.setattr("workers.perception.scaleout.build_worker", lambda *a: Worker())
    assert main(["ingest", "clip.mp4", "--camera", "c", "--metrics-port", "9181"]) == 2
    assert main(["worker", "--metrics-port", "9182", "--db", "sqlite://"]) == 2
    assert served == [(9181, expected), (9182, expected)]


def test_compose_opens_metrics_to_its_own_network_only_by_saying_so() -> None:
    doc = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = {n: s for n, s in doc["services"].items() if "feedwatch" in str(s.get("image"))}
    for name in ("worker", "sink", "alerts", "api"):
        assert services[name]["environment"]["FEEDWATCH_METRICS_HOST"] == "0.0.0.0", name  # noqa: S104
    assert not any("9100" in str(s.get("ports", "")) for s in services.values())

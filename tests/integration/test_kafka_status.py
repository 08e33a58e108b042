"""Kafka mode health on the real broker: camera status reaches the API, workers beat.

* ``feedwatch ingest --kafka`` publishes its camera's stream status to the compacted
  status topic; an API built with the Kafka bus follows it, so ``GET /api/cameras``
  shows the camera connected, then ended, with its last segment time, and queries
  may name the camera.
* ``feedwatch worker`` touches its heartbeat file from a timer (so the container
  healthcheck passes) and serves Prometheus metrics on ``--metrics-port``.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fastapi.testclient import TestClient

from connectors.kafka import KafkaBus, ensure_topics
from connectors.store import Store
from connectors.video.testing import make_clip
from workers.api.app import create_app
from workers.cli.main import cli
from workers.config import KafkaSettings, load_settings
from workers.soak.cluster import Cluster


def _camera(client: TestClient, camera: str) -> dict[str, Any] | None:
    cameras = {c["id"]: c for c in client.get("/api/cameras").json()}
    return cameras.get(camera)


def _follow_until_ended(client: TestClient, camera: str, timeout: float) -> list[dict[str, Any]]:
    """Every distinct view of ``camera`` the API gave while polling, until ``ended``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = _camera(client, camera)
        if now is not None and (not seen or now != seen[-1]):
            seen.append(now)
        if now is not None and now["status"] == "ended":
            break
        time.sleep(0.2)
    return seen


def test_api_shows_the_status_an_ingest_publishes(kafka_bootstrap: str, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "cam.mp4", seconds=6.0, fps=10, keyframe_interval_s=1.0)
    cluster = Cluster(kafka_bootstrap, f"sqlite:///{tmp_path / 'fw.db'}", tmp_path)
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=cluster.prefix, partitions=2)
    ensure_topics(kafka)
    settings = load_settings().model_copy(update={"kafka": kafka})
    store = Store.from_url(f"sqlite:///{tmp_path / 'api.db'}")
    bus = KafkaBus(kafka)
    try:
        with TestClient(create_app(settings, store, bus)) as client:
            assert (
                client.post(
                    "/api/queries", json={"question": "q?", "cameras": ["dock-7"]}
                ).status_code
                == 409  # not heard of yet: a conflict with what is known
            )
            started = time.time()
            proc = cluster.ingest("dock-7", str(clip), segment_seconds=1.0)
            seen = _follow_until_ended(client, "dock-7", timeout=60)
            assert proc.popen.wait(timeout=30) == 0, proc.text()
            states = [c["status"] for c in seen]
            assert "connected" in states and states[-1] == "ended", (states, proc.text())
            assert states.index("connected") < states.index("ended")
            last = seen[-1]["last_segment_at"]
            assert last is not None and started - 5 < last < time.time() + 5  # paced: epoch
            made = client.post("/api/queries", json={"question": "q?", "cameras": ["dock-7"]})
            assert made.status_code == 201, made.text  # a camera heard of is a known camera
    finally:
        cluster.close()
        bus.close()
        store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    return path.exists()


def test_a_worker_beats_and_serves_metrics(kafka_bootstrap: str, tmp_path: Path) -> None:
    beat, port = tmp_path / "worker.heartbeat", _free_port()
    cluster = Cluster(
        kafka_bootstrap,
        f"sqlite:///{tmp_path / 'fw.db'}",
        tmp_path,
        env={"FEEDWATCH_HEARTBEAT_FILE": str(beat), "FEEDWATCH_METRICS_PORT": str(port)},
    )
    try:
        cluster.run("db", "upgrade")
        worker = cluster.spawn("sink", "worker", "--role", "sink", "--datadir", str(tmp_path / "d"))
        assert _wait_for(beat, timeout=90), worker.text()
        health = CliRunner().invoke(cli, ["healthcheck", "--heartbeat", str(beat)])
        assert health.exit_code == 0, health.output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:  # noqa: S310
            text = resp.read().decode()
        assert "feedwatch_answers_stored_total" in text and "feedwatch_dead_letters_total" in text
        assert worker.alive()
    finally:
        cluster.close()

"""The answers consumer over the in-process bus (the embedded run's bus); the same check
runs over Kafka in tests/integration/test_answers_consumer_kafka.py."""

from __future__ import annotations

from pathlib import Path

from connectors.bus.base import Topics
from connectors.bus.memory import MemoryBus
from connectors.store import Store
from tests.answers_consumer_check import check
from workers.answers_consumer import FILE_RUN_RETRY, store_retry
from workers.perception.embedded import CameraSource, EmbeddedRun


def test_retries_rows_dead_letters_and_metrics_over_the_in_process_bus(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    try:
        check(MemoryBus(), Topics(), store)
    finally:
        store.close()


def test_the_mode_chooses_the_retry_policy() -> None:
    assert store_retry(live=False) is FILE_RUN_RETRY and FILE_RUN_RETRY.attempts > 0
    assert store_retry(live=True).attempts == 0  # until stored

    def run(*uris: str) -> EmbeddedRun:
        cams = [CameraSource(f"c{i}", u) for i, u in enumerate(uris)]
        return EmbeddedRun(cams, [], None, None, segments=lambda *a, **k: iter(()))  # type: ignore[arg-type]

    assert not run("a.mp4", "file:///b.mp4").live
    assert run("a.mp4", "rtsp://cam/1").live and run("/dev/video0").live

"""One ``feedwatch ingest`` process for several cameras, against the real broker: every
camera's segments arrive in the segments topic, numbered from 0 and in order, keyed by
camera, with the status of each camera published; a camera whose source fails is its
own failure (named, exit 1) while the others are ingested completely."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.kafka import KafkaBus
from connectors.video.testing import make_clip
from workers.bench._kafka import segment_spans
from workers.config import KafkaSettings
from workers.soak.cluster import Cluster

SECONDS = 4.0


def _statuses(bootstrap: str, topic: str) -> dict[str, dict[str, object]]:
    """The latest status snapshot of each camera in the compacted status topic."""
    consumer = KafkaBus(KafkaSettings(bootstrap=bootstrap)).consumer([topic], "")
    latest: dict[str, dict[str, object]] = {}
    try:
        for _ in range(20):
            for r in consumer.poll(max_records=500, timeout=0.5):
                if r.value is not None:
                    latest[r.key.decode()] = json.loads(r.value)
            if len(latest) >= 3 and consumer.caught_up():
                break
    finally:
        consumer.close()
    return latest


def test_three_cameras_arrive_from_one_ingest_process(kafka_bootstrap: str,
                                                      tmp_path: Path) -> None:
    clips = {cam: make_clip(tmp_path / f"{cam}.mp4", seconds=SECONDS, fps=10,
                            keyframe_interval_s=1.0) for cam in ("gate", "yard", "dock")}
    cameras = {cam: str(path) for cam, path in clips.items()}
    cameras["lost"] = str(tmp_path / "missing.mp4")  # fails on its own
    cluster = Cluster(kafka_bootstrap, f"sqlite:///{tmp_path / 'fw.db'}", tmp_path)
    try:
        proc = cluster.ingest_many("ingest-all", cameras, segment_seconds=1.0, realtime=False)
        assert proc.popen.wait(timeout=120) == 1, proc.text()  # one camera failed
        spans = segment_spans(kafka_bootstrap, f"{cluster.prefix}segments")
        statuses = _statuses(kafka_bootstrap, f"{cluster.prefix}status")
    finally:
        cluster.close()
    assert set(spans) == {"gate", "yard", "dock"}, proc.text()
    for cam, segs in spans.items():
        assert len(segs) == int(SECONDS), (cam, segs)
        assert segs[0][0] == 0.0 and abs(segs[-1][1] - SECONDS) < 0.2, (cam, segs)
    text = proc.text()
    assert text.count("ingested 4 segments") == 3 and "as lost" in text, text
    assert {c: s["state"] for c, s in statuses.items() if c != "lost"} == dict.fromkeys(
        ("gate", "yard", "dock"), "ended"), statuses
    assert statuses["gate"]["segments"] == int(SECONDS)

"""Kafka mode: `feedwatch clips`, a process of its own, cuts incident clips from the
segments topic by stream time (its segment index), with no perception worker at all,
and after being killed with -9 it resumes and cuts the closing clip."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.store import Store
from connectors.store.clips import ClipStore, IncidentClipRow
from connectors.store.segment_index import SegmentIndex
from connectors.video.clip_cut import cut_clip
from connectors.video.clip_plan import ClipWindow
from connectors.video.segmenter import Segmenter
from connectors.video.sources import open_source
from pipeline.scenes import scripted_scene, write_clip
from tests.unit.workers.incident_clips.incidents import add_incident
from workers.soak.cluster import Cluster


def wait_for(store: Store, incident: str, phase: str, timeout: float = 60.0) -> IncidentClipRow:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = ClipStore(store.engine).clips(incident).get(phase)
        if row is not None:
            return row
        time.sleep(0.2)
    raise TimeoutError(f"no {phase} clip of {incident} after {timeout}s")


@pytest.mark.timeout(300)
def test_a_separate_clip_process_cuts_clips_from_the_segments_topic(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    spec = scripted_scene(visible=[(12.0, 20.0)], duration=30.0, size=(320, 240), fps=10)
    video = write_clip(spec, tmp_path / "cam.mp4", fps=10, keyframe_interval_s=5.0)
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store.from_url(url)
    clips_dir = tmp_path / "clips"
    cluster = Cluster(kafka_bootstrap, url, tmp_path, env={
        "FEEDWATCH_CLIPS_DIR": str(clips_dir), "FEEDWATCH_CLIPS_PRE_ROLL_S": "3",
        "FEEDWATCH_CLIPS_POST_ROLL_S": "3", "FEEDWATCH_VIDEO_SEGMENT_SECONDS": "2"})
    try:
        ingest = cluster.ingest("cam", str(video), segment_seconds=2.0, realtime=False)
        ingest.popen.wait(timeout=120)
        assert ingest.popen.returncode == 0, ingest.text()[-2000:]
        add_incident(store, "inc-k", started=12.0, opened=14.0)
        clips = cluster.spawn("clips-1", "clips", "--log-level", "info")
        opened = wait_for(store, "inc-k", "open")
        assert opened.state == "ready", opened.error
        indexed = SegmentIndex(store.engine).covering("cam", 0.0, 100.0)
        assert len(indexed) == 15 and indexed[0].start == 0.0
        Cluster.kill9(clips)
        add_incident(store, "inc-k", started=12.0, opened=14.0, closed=21.0)
        cluster.spawn("clips-2", "clips", "--log-level", "info")
        closed = wait_for(store, "inc-k", "close")
        assert closed.state == "ready", closed.error
        with open_source(str(video), "cam") as src:  # the same segments, cut in process
            segments = list(Segmenter.from_config("cam").run(src))
        for row, end in ((opened, 14.0), (closed, 21.0)):
            mine = cut_clip(segments, ClipWindow(12.0, end, 3.0, 3.0))
            assert (clips_dir / str(row.file)).read_bytes() == mine.data
            assert row.start == pytest.approx(mine.start) == pytest.approx(5.0)
            assert row.duration == pytest.approx(mine.duration)
    finally:
        cluster.close()
        store.close()

"""The clip worker over the embedded run's segment ring: clips as incidents open and
close, waits for the post-roll, expired segments, and retention of incidents."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from connectors.store import Store
from connectors.store.clips import ClipFiles, ClipStore
from connectors.store.retention import Pruner, RetentionPolicy
from connectors.video.ring import SegmentRing
from pipeline.types import Segment
from tests.unit.workers.incident_clips.incidents import add_incident, recorded_scene
from workers.incident_clips.service import ClipPolicy, ClipWorker


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[Segment]:
    return recorded_scene(tmp_path_factory.mktemp("scene"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'f.db'}")
    yield s
    s.close()


def worker(store: Store, ring: SegmentRing, tmp_path: Path, **policy: float) -> ClipWorker:
    files = ClipFiles.from_config(tmp_path / "clips")
    return ClipWorker(ClipStore(store.engine), files, ring,
                      ClipPolicy(**{"pre_roll": 2.0, "post_roll": 2.0, **policy}))


def fill(ring: SegmentRing, segments: list[Segment], until: float) -> None:
    """The camera's next segments, up to the one that reaches ``until``."""
    for s in segments:
        newest = ring.newest_end("cam")
        if (newest is None or s.end > newest + 1e-6) and s.start < until:
            ring.add(s)


def duration_of(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        return float(s.duration * s.time_base)


def test_an_opening_clip_waits_for_its_post_roll_then_covers_pre_roll_to_post_roll(
        store: Store, segments: list[Segment], tmp_path: Path) -> None:
    ring = SegmentRing(seconds=120.0)
    w = worker(store, ring, tmp_path)
    add_incident(store, "inc-1", started=12.0, opened=14.0)
    fill(ring, segments, 14.0)
    assert w.run_once() == 0  # the post-roll (to 16 s) is not recorded yet
    fill(ring, segments, 18.0)
    assert w.run_once() == 1
    row = ClipStore(store.engine).clips("inc-1")["open"]
    assert row.state == "ready" and row.start == 10.0  # the keyframe before 12 - 2 s
    assert row.event_at == pytest.approx(2.0)
    assert 6.0 <= row.duration <= 6.5  # to 16 s, and the B-frames' reference past it
    data = w.files.path(row.file).read_bytes()  # type: ignore[arg-type]
    assert len(data) == row.bytes and duration_of(data) == pytest.approx(row.duration)
    assert row.cpu_s > 0 and row.source_bytes > row.bytes // 2
    assert w.run_once() == 0  # cut once


def test_a_closing_clip_covers_the_whole_incident_from_its_held_beginning(
        store: Store, segments: list[Segment], tmp_path: Path) -> None:
    ring = SegmentRing(seconds=6.0)  # keeps ~6 s: the beginning survives only by the hold
    w = worker(store, ring, tmp_path)
    add_incident(store, "inc-2", started=12.0, opened=13.0)
    fill(ring, segments, 16.0)
    assert w.run_once() == 1
    fill(ring, segments, 40.0)
    add_incident(store, "inc-2", started=12.0, opened=13.0, closed=30.0)
    assert w.run_once() == 1
    close = ClipStore(store.engine).clips("inc-2")["close"]
    assert close.state == "ready" and close.start == 10.0
    assert 22.0 <= close.duration <= 22.5  # 10 s .. 32 s
    assert close.skipped_from is None  # under the 60-s cap


def test_a_long_incident_is_capped_to_its_first_and_last_seconds(
        store: Store, segments: list[Segment], tmp_path: Path) -> None:
    ring = SegmentRing(seconds=120.0)
    w = worker(store, ring, tmp_path, max_seconds=16.0)
    fill(ring, segments, 40.0)
    add_incident(store, "inc-3", started=6.0, opened=7.0, closed=36.0)
    assert w.run_once() == 2  # opening skipped (closed already), closing cut
    rows = ClipStore(store.engine).clips("inc-3")
    assert rows["open"].state == "skipped" and rows["close"].state == "ready"
    assert rows["close"].duration <= 16.0 and rows["close"].skipped_from is not None


def test_segments_no_longer_kept_make_an_expired_clip_and_a_quiet_camera_is_not_waited_for(
        store: Store, segments: list[Segment], tmp_path: Path) -> None:
    ring = SegmentRing(seconds=4.0)
    now = [1000.0]
    w = worker(store, ring, tmp_path, wait_s=30.0)
    w.clock = lambda: now[0]
    fill(ring, segments, 40.0)
    add_incident(store, "old", started=3.0, opened=5.0, updated_at=1000.0)
    assert w.run_once() == 1
    assert ClipStore(store.engine).clips("old")["open"].state == "expired"
    add_incident(store, "quiet", started=35.0, opened=38.5, updated_at=1000.0)
    assert w.run_once() == 0  # the post-roll (to 40.5 s) may still come
    now[0] += 31.0
    assert w.run_once() == 1
    assert ClipStore(store.engine).clips("quiet")["open"].state == "ready"


def test_retention_prunes_closed_incidents_with_their_clips(
        store: Store, segments: list[Segment], tmp_path: Path) -> None:
    ring = SegmentRing(seconds=120.0)
    w = worker(store, ring, tmp_path)
    fill(ring, segments, 40.0)
    add_incident(store, "early", started=4.0, opened=5.0, closed=8.0)
    add_incident(store, "late", started=30.0, opened=31.0, closed=34.0)
    add_incident(store, "open", started=2.0, opened=3.0)
    assert w.run_once() == 5
    files = sorted(p.name for p in w.files.root.iterdir())
    assert files == ["early-close.mp4", "late-close.mp4", "open-open.mp4"]
    elsewhere = Pruner(store.engine, RetentionPolicy(incidents=20.0),
                       clip_files=ClipFiles(tmp_path / "not-the-clips-folder"))
    missed = elsewhere.prune()  # a prune pointed at another folder says what it left
    assert missed.deleted["incidents"] == 1 and (missed.clip_files, missed.clip_files_missing) == (
        0, 1)
    assert "early-close.mp4" in {p.name for p in w.files.root.iterdir()}
    add_incident(store, "early", started=4.0, opened=5.0, closed=8.0)
    assert w.run_once() == 2  # its clips are cut again
    pruner = Pruner(store.engine, RetentionPolicy(incidents=20.0), clip_files=w.files)
    done = pruner.prune()
    assert done.deleted["incidents"] == 1  # closed at 8 s, clock 34 s
    assert done.clip_files >= 1 and done.clip_files_missing == 0
    assert sorted(p.name for p in w.files.root.iterdir()) == ["late-close.mp4", "open-open.mp4"]
    assert ClipStore(store.engine).clips("early") == {}
    assert set(ClipStore(store.engine).clips("late")) == {"open", "close"}


def test_the_ring_keeps_its_seconds_and_what_is_held(segments: list[Segment]) -> None:
    ring = SegmentRing(seconds=6.0)
    ring.hold("h", "cam", 10.0, 13.0)
    for s in segments:
        ring.add(s)
    newest = segments[-1].end
    overlapping = {s.seq for s in segments if s.end > 10.0 and s.start - s.lead <= 13.0}
    recent = {s.seq for s in segments if s.end >= newest - 6.0}
    kept = [s.seq for s in ring.covering("cam", 0.0, 100.0)]
    assert set(kept) == overlapping | recent and len(kept) == len(set(kept))
    assert len(recent) < len(segments) // 3
    ring.release("h")
    ring.add(segments[-1])  # an old held segment is dropped once nothing holds it
    assert {s.seq for s in ring.covering("cam", 0.0, 100.0)} == recent
    assert ring.reached("cam", newest) and not ring.reached("cam", newest + 1.0)
    ring.end("cam")
    assert ring.reached("cam", 1e9)

"""The frame index on SQLite: batched idempotent writes, exact search, retention, stats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from connectors.store.retention import Pruner, RetentionPolicy
from connectors.store.stats import camera_stats, table_stats
from pipeline.errors import BackpressureError
from pipeline.history.records import IndexedFrame, encode_jpeg
from pipeline.types import Answer, Evidence

DIM = 16


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def frames(camera: str, times: range, target: np.ndarray, hits: range, seed: int = 0):
    """Frames whose embedding is near ``target`` at the times in ``hits``, random elsewhere."""
    rng = np.random.default_rng(seed)
    jpeg = encode_jpeg(np.full((12, 16, 3), 90, np.uint8))
    out = []
    for t in times:
        noise = unit(rng.normal(size=DIM))
        emb = unit(target + 0.3 * noise) if t in hits else noise
        grid = np.stack([np.stack([noise] * 4)] * 4).copy()
        if t in hits:
            grid[0, 3] = target  # the object sits top right
        out.append(IndexedFrame(camera, float(t), "tiny", emb, jpeg, grid, (120, 160)))
    return out


@pytest.fixture
def index(tmp_path: Path) -> FrameIndex:
    ix = FrameIndex.from_url(f"sqlite:///{tmp_path / 'fi.db'}", max_pending=100)
    yield ix
    ix.close()


TARGET = unit(np.eye(DIM, dtype=np.float32)[3] + 0.1)


def test_batched_writes_are_idempotent_and_push_back_when_full(index: FrameIndex) -> None:
    batch = frames("door", range(60), TARGET, range(12, 21))
    index.add(batch[:50])
    with pytest.raises(BackpressureError) as info:
        index.add(batch[50:] + batch[:45])
    assert info.value.retry_after > 0
    assert index.flush() == 50
    index.add(batch)  # redelivery: only the 10 new frames are written
    assert index.flush() == 10
    assert index.count() == 60 and index.pending == 0


def test_search_finds_the_moment_groups_neighbours_and_points_at_the_object(
    index: FrameIndex,
) -> None:
    index.write(frames("door", range(30), TARGET, range(12, 21)))
    index.write(frames("gate", range(30), TARGET, range(0), seed=1))
    moments = index.search(TARGET, "tiny", limit=3)
    assert moments[0].camera == "door" and 12 <= moments[0].t <= 20
    assert moments[0].frames >= 5  # one hit for the run, not one per frame
    assert all(not (m.camera == "door" and 12 <= m.t <= 20) for m in moments[1:])
    x0, y0, x1, y1 = moments[0].box
    assert x1 == 1.0 and y0 == 0.0  # box lies in the top-right corner
    only_gate = index.search(TARGET, "tiny", cameras=["gate"], limit=2)
    assert {m.camera for m in only_gate} == {"gate"}
    early = index.search(TARGET, "tiny", since=0, until=10, limit=5)
    assert all(m.t < 10 for m in early)
    assert index.search(TARGET, "other-model", limit=3) == []
    with pytest.raises(TypeError, match="camera"):  # a misspelt filter is not ignored
        index.search(TARGET, "tiny", camera=["gate"], limit=2)  # type: ignore[call-arg]


def test_frames_read_back_for_backfill(index: FrameIndex) -> None:
    written = frames("door", range(10), TARGET, range(3, 5))
    index.write(written)
    got = index.frames("door", 2.0, 5.0)
    assert [f.t for f in got] == [2.0, 3.0, 4.0, 5.0]
    np.testing.assert_allclose(got[1].embedding, written[3].embedding, atol=2e-3)
    assert got[1].grid.shape == (4, 4, DIM) and got[1].thumb == written[3].thumb
    assert index.model_id() == "tiny" and index.cameras() == ["door"]
    assert index.span("door") == (0.0, 9.0)


def _answer(end: float, camera: str = "door") -> Answer:
    ev = (Evidence(end - 1, b"\xff\xd8jpeg", (0.0, 0.0, 1.0, 1.0)),)
    return Answer("q1", "a red circle", camera, end - 4, end, 0.0, "clip", "yes", True, 0.5,
                  (end - 1,), ((0.0, 0.0, 1.0, 1.0),), 4, 1.0, {"clip": "tiny"}, ev)


def test_retention_prunes_on_each_cameras_stream_clock_in_batches(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store.from_url(url)
    index = FrameIndex(store.engine)
    index.write(frames("door", range(100), TARGET, range(0)))
    index.write(frames("gate", range(1000, 1020), TARGET, range(0)))
    store.insert_answers([_answer(float(e)) for e in range(4, 100, 4)])
    pruner = Pruner(store.engine, RetentionPolicy(frames=30, answers=50, evidence=20, batch=7))
    first = pruner.prune(max_batches=2)
    assert first.deleted["frames"] == 14 and not first.complete
    pruner.prune()
    assert index.span("door") == (69.0, 99.0)  # the door camera's own clock: 99 s
    assert index.span("gate") == (1000.0, 1019.0)  # gate's clock is 1019 s: nothing old
    kept = store.answers(camera="door")
    assert min(a.window_end for a in kept) >= 99 - 50
    assert store.evidence("q1", "door", 76.0) == [] and store.evidence("q1", "door", 80.0) != []
    store.close()


def test_stats_report_rows_and_bytes_per_table_and_camera(index: FrameIndex) -> None:
    index.write(frames("door", range(3600, 3660), TARGET, range(0)))
    tables = {t.table: t for t in table_stats(index.engine)}
    assert tables["frames"].rows == 60 and tables["frames"].bytes > 0
    (door,) = [c for c in camera_stats(index.engine) if c.table == "frames"]
    assert door.rows == 60 and door.span_s == 59.0
    assert door.bytes > 60 * DIM * 2  # at least the float16 embeddings
    assert door.bytes_per_hour == pytest.approx(door.bytes * 3600 / 59.0)


def test_wide_searches_rank_camera_minutes_first_and_match_exact_search(tmp_path: Path) -> None:
    index = FrameIndex.from_url(f"sqlite:///{tmp_path / 'g.db'}", exact_below=50)
    for cam in range(3):  # 10 min a camera at 1 fps: 10 groups each
        index.write(frames(f"cam{cam}", range(600), TARGET, range(300 + cam * 60, 320 + cam * 60),
                           seed=cam))
    with index.engine.connect() as conn:
        n_groups = conn.execute(sa.text("select count(*), sum(frames) from frame_groups")).one()
    assert tuple(n_groups) == (30, 1800)
    approx = index.nearest(TARGET, "tiny", k=10)  # 1800 frames > 50: the grouped path
    exact = index.nearest(TARGET, "tiny", k=10, exact=True)
    assert [c.frame_id for c in approx] == [c.frame_id for c in exact]
    assert index.search(TARGET, "tiny", limit=3)[0].camera in {"cam0", "cam1", "cam2"}
    Pruner(index.engine, RetentionPolicy(frames=120)).prune()
    with index.engine.connect() as conn:
        left = conn.execute(sa.text("select min(start) from frame_groups")).scalar()
    assert left >= 599 - 120 - 60
    index.close()

"""``feedwatch bench search``: text-search latency and recall of the frame index.

Fills a fresh index with ``--frames`` synthetic embeddings spread over 24 h and 10
cameras (1 frame per camera every 24h·10/N s), then times two queries per text:

- ``camera_hour``: one camera, one hour;
- ``all_day``: every camera, the whole 24 h;

each the nearest-frame query behind ``feedwatch search`` (k = 10) on the default path
(exact when the filter leaves under 20,000 frames, else camera-minute groups ranked
first: :mod:`connectors.store.frames.groups`), and the same query forced exact; both
are timed after one untimed exact run of the same query (a warm cache for both).
``recall_at_10`` is the share of the exact top 10 the default path returns; the exact
query is the baseline the speed-up is measured against. On pgvector the HNSW graph
index is measured on the all-day query too, for comparison (table only).

Embeddings are not random points (which no real index sees): each camera has its own
scene vector that drifts slowly, objects (concept vectors, of varying strength) come
and go for about a minute, plus noise; query texts are concept vectors.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from pipeline.history.records import IndexedFrame, encode_jpeg

CAMERAS = 10
SPAN = 24 * 3600.0
CONCEPTS = 256
MODEL = "bench-synthetic"
NOISE = 0.3  # per-frame noise norm: consecutive frames of a camera have cosine ~0.96


class Scenes:
    """Deterministic camera-like embeddings, generated in chunks."""

    def __init__(self, dim: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.rng = rng
        self.scene = _unit(rng.normal(size=(CAMERAS, dim)))
        self.drift = _unit(rng.normal(size=(CAMERAS, dim)))
        self.concepts = _unit(rng.normal(size=(CONCEPTS, dim)))

    def chunk(self, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(camera, t, embedding) of frames ``idx`` out of ``n`` (frame i: camera i % 10)."""
        cam = idx % CAMERAS
        t = (idx // CAMERAS) * (SPAN * CAMERAS / n)
        phase = np.sin(2 * np.pi * t / SPAN)[:, None]
        run = (t // 60.0).astype(np.int64)  # an object stays about a minute
        concept = (run * 7919 + cam * 104729) % CONCEPTS
        present = ((run * 31 + cam) % 3 != 0)[:, None]
        # objects differ in size and visibility from one appearance to the next
        strength = 0.4 + 0.8 * (((run * 2654435761 + cam * 40503) % 1000) / 1000.0)[:, None]
        emb = (self.scene[cam] + 0.5 * phase * self.drift[cam]
               + present * strength * self.concepts[concept])
        emb = emb + NOISE * self.rng.normal(size=emb.shape) / np.sqrt(self.dim)
        return cam, t, _unit(emb)

    def text(self) -> np.ndarray:
        c = self.concepts[self.rng.integers(CONCEPTS)]
        return _unit(c + NOISE * self.rng.normal(size=self.dim) / np.sqrt(self.dim))


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def frames(scenes: Scenes, n: int, chunk: int = 20000) -> Iterator[list[IndexedFrame]]:
    thumb = encode_jpeg(np.full((90, 160, 3), 128, np.uint8))
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk))
        cam, t, emb = scenes.chunk(idx, n)
        yield [IndexedFrame(f"cam{c:02d}", float(tt), MODEL, e, thumb, None, (720, 1280))
               for c, tt, e in zip(cam.tolist(), t.tolist(), emb, strict=True)]


def fill(index: Any, scenes: Scenes, n: int, log: Any) -> float:
    """Write ``n`` frames (binary COPY on PostgreSQL), build the ANN index; seconds taken."""
    t0 = time.perf_counter()
    done = 0
    for batch in frames(scenes, n):
        if index.engine.dialect.name == "postgresql":
            from connectors.store.frames.bulk import copy_frames

            copy_frames(index.engine, batch, vector=index.vector)
        else:
            index.write(batch)
        done += len(batch)
        log(f"loaded {done}/{n} frames ({time.perf_counter() - t0:.0f}s)")
    if index.engine.dialect.name == "postgresql":
        log("grouping camera-minutes ...")
        index.rebuild_groups(scenes.dim)
    if index.vector:
        log("building the HNSW index ...")
        _build_hnsw(index, scenes.dim)
    return time.perf_counter() - t0


def _build_hnsw(index: Any, dim: int) -> None:
    import sqlalchemy as sa

    from connectors.store.frames.schema import hnsw_index_sql

    with index.engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '2GB'"))
        conn.execute(sa.text("SET LOCAL max_parallel_maintenance_workers = 4"))
        conn.execute(sa.text(hnsw_index_sql(dim)))
        conn.execute(sa.text("ANALYZE frames"))
    index.ensure_ann_index(dim)


def measure(index: Any, scenes: Scenes, queries: int, scenario: str) -> dict[str, float]:
    """p50/p95 of the default path, recall@10 against exact, and the exact baseline."""
    fast, slow, recalls = [], [], []
    scenes.rng = np.random.default_rng(777)  # the same texts for every method
    rng = np.random.default_rng(12345 if scenario == "camera_hour" else 54321)
    for _ in range(queries):
        q = scenes.text()
        kw: dict[str, Any] = {"since": 0.0, "until": SPAN}
        if scenario == "camera_hour":
            start = float(rng.integers(0, 23)) * 3600.0
            kw = {"cameras": [f"cam{int(rng.integers(CAMERAS)):02d}"], "since": start,
                  "until": start + 3600.0}
        index.nearest(q, MODEL, k=10, exact=True, **kw)  # warm: both read cached pages
        t0 = time.perf_counter()
        got = index.nearest(q, MODEL, k=10, **kw)
        t1 = time.perf_counter()
        truth = index.nearest(q, MODEL, k=10, exact=True, **kw)
        t2 = time.perf_counter()
        fast.append((t1 - t0) * 1000.0)
        slow.append((t2 - t1) * 1000.0)
        ids = {c.frame_id for c in truth}
        recalls.append(len(ids & {c.frame_id for c in got}) / max(1, len(ids)))
    return {
        "p50_ms": round(float(np.percentile(fast, 50)), 3),
        "p95_ms": round(float(np.percentile(fast, 95)), 3),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "exact_p50_ms": round(float(np.percentile(slow, 50)), 3),
    }



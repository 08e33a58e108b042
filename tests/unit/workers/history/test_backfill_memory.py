"""A backfill over the store holds a page of frames at a time, never the range.

800 stored frames (400 s at 2 fps) with 320×240 thumbnails: decoded at once they are
~180 MB. Read in pages of 40, no store read returns more than 40 rows, every frame is
read, and the peak of traced memory stays under 15% of that (one page is 5%).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from pipeline.engine import Engine
from pipeline.history.records import IndexedFrame, encode_jpeg
from pipeline.perceiver import AnswererCache
from pipeline.types import StandingQuery
from workers.history.backfill import Backfiller

D, FRAMES, PAGE, FPS = 8, 800, 40, 2.0
DECODED = 240 * 320 * 3  # bytes of one decoded thumbnail


class TextEncoder:
    model_id = "fake-clip"

    def encode_text(self, texts: Any) -> np.ndarray:
        return np.stack([np.eye(D, dtype=np.float32)[0] for _ in texts])


def test_backfill_reads_pages_and_holds_one_at_a_time(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'm.db'}")
    index = FrameIndex(store.engine)
    rng = np.random.default_rng(2)
    ramp = np.linspace(0, 255, 320, dtype=np.uint8)
    jpeg = encode_jpeg(np.broadcast_to(ramp[None, :, None], (240, 320, 3)).copy())
    embs = rng.normal(size=(FRAMES, D)).astype(np.float32)
    embs /= np.linalg.norm(embs, axis=1, keepdims=True)
    index.write([IndexedFrame("dock", i / FPS, "fake-clip", embs[i], jpeg, None, (480, 640))
                 for i in range(FRAMES)])
    reads: list[int] = []
    rows = index._rows

    def counted(stmt: Any) -> list[Any]:
        got = rows(stmt)
        reads.append(len(got))
        return got

    index._rows = counted  # type: ignore[method-assign]
    encoder = TextEncoder()
    engine = Engine(encoder, AnswererCache(encoder), evidence=False)
    backfiller = Backfiller(store, index, engine, "fake-clip", page_frames=PAGE)
    query = StandingQuery("q", "a red circle", ("dock",), every=1.0, window=4.0)
    store.upsert_query(query)
    tracemalloc.start()
    try:
        result = backfiller.run(query, FRAMES / FPS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        store.close()
    assert result.done == result.total == 400 and result.stored == 399
    frame_reads = [n for n in reads if n > 1]  # the span and camera reads return one row
    assert max(reads) <= PAGE and sum(frame_reads) >= FRAMES - 1
    assert peak < 0.15 * FRAMES * DECODED, f"peak {peak / 1e6:.0f} MB"

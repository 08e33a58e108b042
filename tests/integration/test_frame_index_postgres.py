"""The frame index on real PostgreSQL: pgvector (halfvec + HNSW) and Debian's server
without pgvector (float16 blobs, exact search) behave the same for a user."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa

from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from connectors.store.retention import Pruner, RetentionPolicy
from connectors.store.stats import camera_stats
from tests.unit.connectors.test_frame_index import TARGET, frames

pytestmark = pytest.mark.integration


@pytest.fixture(params=["pgvector", "postgres"])
def index(request: pytest.FixtureRequest) -> Iterator[FrameIndex]:
    url_fixture = "pgvector_url" if request.param == "pgvector" else "fresh_postgres_url"
    url = request.getfixturevalue(url_fixture)
    ix = FrameIndex.from_url(url)
    assert ix.backend == ("pgvector" if request.param == "pgvector" else "postgresql")
    yield ix
    ix.close()


def test_search_writes_and_retention(index: FrameIndex) -> None:
    door = frames("door", range(30), TARGET, range(12, 21))
    index.add(door)
    assert index.flush() == 30
    index.write(door[:10])  # redelivered: skipped
    index.write(frames("gate", range(30), TARGET, range(0), seed=1))
    assert index.count() == 60
    moments = index.search(TARGET, "tiny", limit=3)
    assert moments[0].camera == "door" and 12 <= moments[0].t <= 20
    assert moments[0].box is not None and moments[0].box[2] == 1.0
    assert {m.camera for m in index.search(TARGET, "tiny", cameras=["gate"], limit=3)} == {"gate"}
    back = index.frames("door", 12.0, 12.0)
    np.testing.assert_allclose(back[0].embedding, door[12].embedding, atol=2e-3)
    Pruner(index.engine, RetentionPolicy(frames=10, batch=4)).prune()
    assert index.span("door") == (19.0, 29.0)
    assert [c.rows for c in camera_stats(index.engine) if c.table == "frames"] == [11, 11]


def test_pgvector_uses_hnsw_for_wide_filters_and_agrees_with_exact(pgvector_url: str) -> None:
    store = Store.from_url(pgvector_url)
    index = FrameIndex(store.engine, exact_below=50)
    for cam in range(4):
        index.write(frames(f"cam{cam}", range(100), TARGET, range(40, 45), seed=cam))
    with store.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.execute(sa.text(
            "EXPLAIN SELECT id FROM frames WHERE dim = 16 AND model_id = 'tiny' "
            "ORDER BY embedding::halfvec(16) <=> CAST(:q AS halfvec(16)) LIMIT 10"
        ), {"q": "[" + ",".join(map(str, TARGET.tolist())) + "]"}))
    assert "ix_frames_hnsw_16" in plan
    approx = FrameIndex(store.engine, ann="hnsw").nearest(TARGET, "tiny", k=10, exact=False)
    exact = index.nearest(TARGET, "tiny", k=10, exact=True)
    assert len({c.frame_id for c in approx} & {c.frame_id for c in exact}) >= 9
    narrow = index.nearest(TARGET, "tiny", cameras=["cam2"], since=40, until=45, k=3)
    assert [c.camera for c in narrow] == ["cam2"] * 3
    grouped = index.nearest(TARGET, "tiny", k=10)  # 400 frames > 50: camera-minute groups
    assert [c.frame_id for c in grouped] == [c.frame_id for c in exact]
    index.rebuild_groups(16)  # the bulk-load path agrees with the incremental one
    assert [c.frame_id for c in index.nearest(TARGET, "tiny", k=10)] == [
        c.frame_id for c in exact]
    store.close()

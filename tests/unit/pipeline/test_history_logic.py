"""History logic: index records, moments, backfill windows."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.history.backfill import window_ends
from pipeline.history.duration import parse_duration
from pipeline.history.moments import Candidate, group_moments
from pipeline.history.records import IndexPolicy, pool_grid, to_encoded, to_indexed
from pipeline.types import EncodedFrame, StandingQuery


def _frame(t: float = 3.0) -> EncodedFrame:
    rng = np.random.default_rng(1)
    g = rng.normal(size=8).astype(np.float32)
    return EncodedFrame(
        camera="door",
        t=t,
        global_emb=g / np.linalg.norm(g),
        patches=rng.normal(size=(4, 6, 8)).astype(np.float32),
        thumb=rng.integers(0, 255, size=(120, 200, 3), dtype=np.uint8),
        frame_size=(480, 800),
    )


def test_record_round_trip_keeps_embedding_grid_and_a_small_thumbnail() -> None:
    frame = _frame()
    row = to_indexed(frame, "tiny", IndexPolicy(thumb_side=64, grid_max=8))
    assert row.thumb[:2] == b"\xff\xd8" and row.dim == 8
    back = to_encoded(row)
    assert back.t == 3.0 and back.camera == "door" and back.frame_size == (480, 800)
    assert max(back.thumb.shape[:2]) == 64
    np.testing.assert_allclose(back.global_emb, frame.global_emb)
    np.testing.assert_allclose(back.patches, frame.patches)


def test_grid_is_pooled_to_the_cap_and_dropped_when_off() -> None:
    patches = np.arange(4 * 6 * 1, dtype=np.float32).reshape(4, 6, 1)
    pooled = pool_grid(patches, 2)
    assert pooled.shape == (2, 2, 1)
    assert pooled[0, 0, 0] == pytest.approx(patches[:2, :3].mean())
    assert to_indexed(_frame(), "tiny", IndexPolicy(grid_max=0)).grid is None
    assert to_encoded(to_indexed(_frame(), "tiny", IndexPolicy(grid_max=0))).patches.shape == (
        1, 1, 8)


def test_bad_policy_names_the_field() -> None:
    with pytest.raises(ConfigError, match="index.grid_max"):
        IndexPolicy(grid_max=-1)


def test_neighbouring_frames_are_one_moment_and_the_best_frame_reports_it() -> None:
    scores = {10: 0.2, 11: 0.3, 12: 0.8, 13: 0.9, 14: 0.85, 15: 0.7, 16: 0.2, 30: 0.6, 31: 0.1}
    cands = [Candidate(i, "door", float(t), s) for i, (t, s) in enumerate(scores.items())]
    cands.append(Candidate(99, "gate", 13.0, 0.75))
    moments = group_moments(cands, limit=3, gap=1.5)
    assert [(m.camera, m.t) for m in moments] == [("door", 13.0), ("gate", 13.0), ("door", 30.0)]
    first = moments[0]
    assert (first.start, first.end) == (12.0, 14.0)  # weak neighbours (15 s) join, do not stretch
    assert first.frames == 5  # 11..15 s; 10 and 16 s lie beyond the gap of the unstretched moment


def test_duration_parsing_and_window_ends_follow_the_live_grid() -> None:
    assert parse_duration("30m") == 1800 and parse_duration("90") == 90
    assert parse_duration(2.5) == 2.5
    with pytest.raises(ConfigError, match="backfill"):
        parse_duration("soon")
    q = StandingQuery("q", "a red circle", every=2.0, window=4.0)
    assert window_ends(q, since=3.0, last=9.5) == [4.0, 6.0, 8.0]

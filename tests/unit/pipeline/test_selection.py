"""Temporal selection: prompt scores, uniform spread, ties, T < k, min_gap, order."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.selection import prompt_scores, select_frames, uniform_indices


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def test_prompt_scores_are_cosines_for_every_query_and_frame() -> None:
    rng = np.random.default_rng(0)
    frames, queries = _unit(rng.normal(size=(7, 5))), _unit(rng.normal(size=(3, 5)))
    scores = prompt_scores(frames, queries)
    assert scores.shape == (3, 7)
    assert scores[2, 4] == pytest.approx(float(frames[4] @ queries[2]), abs=1e-6)


def test_prompt_scores_rejects_mismatched_dimensions() -> None:
    with pytest.raises(ValueError):
        prompt_scores(np.zeros((4, 5)), np.zeros((2, 6)))


@pytest.mark.parametrize(
    ("T", "k", "expected"),
    [(10, 3, [1, 5, 8]), (6, 3, [1, 3, 5]), (3, 5, [0, 1, 2]), (0, 3, []), (5, 0, []), (1, 1, [0])],
)
def test_uniform_indices_take_slice_centres(T: int, k: int, expected: list[int]) -> None:
    assert uniform_indices(T, k) == expected


def test_top_prompt_frames_are_returned_in_time_order() -> None:
    scores = [0.1, 0.9, 0.2, 0.8, 0.3, 0.7]
    assert select_frames(scores, 3, 0) == [1, 3, 5]


def test_prompt_and_uniform_are_merged_without_duplicates() -> None:
    scores = np.zeros(12)
    scores[[1, 2, 3]] = [0.9, 0.8, 0.7]
    picked = select_frames(scores, 3, 3)
    assert picked == sorted(set(picked))
    assert {1, 2, 3} <= set(picked)
    assert len(picked) == 6


def test_uniform_position_already_taken_is_replaced_by_nearest_free_frame() -> None:
    scores = np.zeros(6)
    scores[[1, 3, 5]] = 1.0  # exactly the uniform positions of (6, 3)
    assert select_frames(scores, 3, 3) == [0, 1, 2, 3, 4, 5]
    assert select_frames(scores, 3, 1) == [1, 2, 3, 5]


def test_ties_go_to_the_earlier_frame() -> None:
    assert select_frames([0.5, 0.5, 0.5, 0.5], 2, 0) == [0, 1]
    assert select_frames([0.1, 0.5, 0.2, 0.5], 1, 0) == [1]


def test_fewer_frames_than_asked_returns_every_frame_once() -> None:
    assert select_frames([0.3, 0.1], 3, 3) == [0, 1]
    assert select_frames([], 3, 3) == []


def test_min_gap_suppresses_near_duplicates() -> None:
    times = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    scores = [0.0, 0.9, 0.85, 0.8, 0.0, 0.0, 0.7]
    assert select_frames(scores, 3, 0, times=times) == [1, 2, 3]
    assert select_frames(scores, 3, 0, times=times, min_gap=1.0) == [1, 3, 6]


def test_min_gap_can_leave_fewer_frames_than_asked() -> None:
    times = [0.0, 0.1, 0.2]
    assert select_frames([0.1, 0.9, 0.2], 3, 3, times=times, min_gap=5.0) == [1]


def test_result_follows_times_when_given() -> None:
    scores = [0.9, 0.1, 0.8]
    assert select_frames(scores, 2, 0, times=[3.0, 1.0, 2.0]) == [2, 0]


def test_nan_scores_rank_last() -> None:
    assert select_frames([np.nan, 0.2, 0.1], 2, 0) == [1, 2]


@pytest.mark.parametrize(
    ("kp", "ku", "gap"), [(-1, 0, 0.0), (0, -2, 0.0), (1, 1, -0.5), (1, 1, float("inf"))]
)
def test_bad_counts_and_gaps_are_config_errors(kp: int, ku: int, gap: float) -> None:
    with pytest.raises(ConfigError):
        select_frames([0.1, 0.2], kp, ku, min_gap=gap)


def test_times_must_match_scores() -> None:
    with pytest.raises(ValueError):
        select_frames([0.1, 0.2], 1, 0, times=[0.0])

"""Token budget arithmetic against hand-computed reference figures."""

from __future__ import annotations

import pytest

from pipeline.budget import (
    free_video_llm_tokens,
    ig_vlm_tokens,
    pooled_grid,
    slowfast_llava_tokens,
    uniform_no_roi_tokens,
    visual_tokens,
)
from pipeline.errors import ConfigError


def test_paper_setting_is_six_frames_of_171_tokens() -> None:
    # 24x24 pooled to 24x12; sqrt(0.6) = 0.7746: 24 -> 18.59 -> 19 rows, 12 -> 9.30 -> 9 cols
    assert visual_tokens(6, 24, 24, 0.6, pool=(1, 2)) == 6 * 171 == 1026
    assert free_video_llm_tokens() == 1026


def test_reference_baselines() -> None:
    assert slowfast_llava_tokens() == 10 * 12 * 24 + 50 * 4 * 4 == 3680
    assert ig_vlm_tokens() == 6 * 576 == 3456
    assert uniform_no_roi_tokens(6, 6, 6) == 216


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((1, 24, 24, None), 576),
        ((1, 24, 24, 1.0), 576),
        ((2, 24, 24, 0.6), 2 * 19 * 19),
        ((3, 8, 8, 0.25, (2, 2)), 3 * 2 * 2),
        ((4, 7, 7, None, (2, 2)), 4 * 3 * 3),
        ((0, 24, 24, 0.6), 0),
        ((1, 1, 1, 0.01), 1),
    ],
)
def test_visual_tokens(args: tuple, expected: int) -> None:
    assert visual_tokens(*args) == expected


def test_more_prompt_frames_cost_linearly() -> None:
    assert free_video_llm_tokens(4, 4) == 8 * 171


@pytest.mark.parametrize("pool", [(0, 1), (1, 0), (25, 1)])
def test_bad_pool_is_a_config_error(pool: tuple[int, int]) -> None:
    with pytest.raises(ConfigError):
        pooled_grid(24, 24, pool)


def test_negative_frames_and_bad_alpha_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        visual_tokens(-1, 24, 24, None)
    with pytest.raises(ConfigError):
        visual_tokens(1, 24, 24, 1.5)

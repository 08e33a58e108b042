"""Visual-token budget: how many image tokens an answer feeds the language model.

``visual_tokens`` is the one formula; the reference settings below are written
with it so the published figures double as tests of the arithmetic:

* SlowFast-LLaVA: 10 slow frames pooled 24×24 → 12×24 (2880) plus 50 fast frames
  pooled to 4×4 (800) = 3680.
* IG-VLM: 3456 = 6 × 576, i.e. six frames' worth of a full 24×24 grid.
* Free Video-LLM, 3 prompt + 3 uniform frames at α=0.6 on LLaVA-v1.6's 24×24 grid
  pooled to 24×12 (288 per frame): 6 × (19 × 9) = 6 × 171 = 1026.
"""

from __future__ import annotations

from pipeline.errors import ConfigError
from pipeline.roi import roi_size

LLAVA_GRID = (24, 24)


def pooled_grid(grid_h: int, grid_w: int, pool: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """The grid after non-overlapping pooling with stride ``pool`` (rows, cols)."""
    if grid_h < 1 or grid_w < 1:
        raise ConfigError("grid", (grid_h, grid_w), "at least 1x1 cells")
    if pool[0] < 1 or pool[1] < 1 or pool[0] > grid_h or pool[1] > grid_w:
        raise ConfigError("pool", pool, f"strides between 1 and the grid {grid_h}x{grid_w}")
    return grid_h // pool[0], grid_w // pool[1]


def visual_tokens(
    n_frames: int,
    grid_h: int,
    grid_w: int,
    alpha: float | None,
    pool: tuple[int, int] = (1, 1),
) -> int:
    """Tokens for ``n_frames`` frames: pool the grid, then keep an α-box (None = all)."""
    if n_frames < 0:
        raise ConfigError("n_frames", n_frames, "a whole number >= 0")
    h, w = pooled_grid(grid_h, grid_w, pool)
    if alpha is not None:
        h, w = roi_size(h, w, alpha)
    return n_frames * h * w


def free_video_llm_tokens(k_prompt: int = 3, k_uniform: int = 3, alpha: float = 0.6) -> int:
    """The paper's setting on LLaVA-v1.6's grid pooled to 24×12 (1026 by default)."""
    return visual_tokens(k_prompt + k_uniform, *LLAVA_GRID, alpha, pool=(1, 2))


def slowfast_llava_tokens(slow: int = 10, fast: int = 50) -> int:
    """SlowFast-LLaVA: slow frames pooled to 12×24, fast frames pooled to 4×4 (3680)."""
    return visual_tokens(slow, *LLAVA_GRID, None, pool=(2, 1)) + visual_tokens(
        fast, *LLAVA_GRID, None, pool=(6, 6)
    )


def ig_vlm_tokens(frames: int = 6) -> int:
    """IG-VLM's reported 3456 tokens: six frames of a full 24×24 grid."""
    return visual_tokens(frames, *LLAVA_GRID, None)


def uniform_no_roi_tokens(frames: int, grid_h: int, grid_w: int) -> int:
    """Baseline: ``frames`` uniform frames, every token kept."""
    return visual_tokens(frames, grid_h, grid_w, None)

"""``feedwatch bench tokens``: visual tokens one answer feeds the language model.

All figures come from :mod:`pipeline.budget` (the formula every answer uses), on
LLaVA-v1.6's 24×24 grid pooled to 24×12 (288 per frame) as in the paper:

* ``default``: k_prompt + k_uniform frames, each cropped to its α-box;
* ``uniform``: the same number of uniform frames, every pooled token kept;
* ``slowfast``: SlowFast-LLaVA's 10 slow frames at 12×24 plus 50 fast at 4×4.

The arithmetic is printed with the numbers so a reader can check them.
"""

from __future__ import annotations

from typing import Any

from pipeline import budget
from pipeline.roi import roi_size

POOL = (1, 2)  # LLaVA-v1.6 24×24 → 24×12, the paper's setting
SLOW, FAST = 10, 50
SLOW_POOL, FAST_POOL = (2, 1), (6, 6)


def settings(k_prompt: int = 3, k_uniform: int = 3, alpha: float = 0.6) -> dict[str, Any]:
    """The three settings' token counts with their arithmetic."""
    frames = k_prompt + k_uniform
    gh, gw = budget.pooled_grid(*budget.LLAVA_GRID, POOL)
    bh, bw = roi_size(gh, gw, alpha)
    sh, sw = budget.pooled_grid(*budget.LLAVA_GRID, SLOW_POOL)
    fh, fw = budget.pooled_grid(*budget.LLAVA_GRID, FAST_POOL)
    default = budget.visual_tokens(frames, *budget.LLAVA_GRID, alpha, pool=POOL)
    uniform = budget.visual_tokens(frames, *budget.LLAVA_GRID, None, pool=POOL)
    slowfast = budget.slowfast_llava_tokens(SLOW, FAST)
    return {
        "default": default, "uniform": uniform, "slowfast": slowfast,
        "arithmetic": {
            "default": f"({k_prompt} prompt + {k_uniform} uniform) frames × α-box "
                       f"{bh}×{bw} (α={alpha:g} of a {gh}×{gw} grid) = {frames} × {bh * bw} "
                       f"= {default}",
            "uniform": f"{frames} uniform frames × full {gh}×{gw} grid = {frames} × {gh * gw} "
                       f"= {uniform}",
            "slowfast": f"{SLOW} slow × {sh}×{sw} + {FAST} fast × {fh}×{fw} = "
                        f"{SLOW * sh * sw} + {FAST * fh * fw} = {slowfast}",
        },
        "grid": f"LLaVA-v1.6 {budget.LLAVA_GRID[0]}×{budget.LLAVA_GRID[1]} pooled to {gh}×{gw}",
        "k_prompt": k_prompt, "k_uniform": k_uniform, "alpha": alpha,
        "ig_vlm": budget.ig_vlm_tokens(),
        "default_vs_uniform": round(default / uniform, 4),
        "default_vs_slowfast": round(default / slowfast, 4),
    }


__all__ = ["settings"]

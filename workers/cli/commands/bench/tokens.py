"""``feedwatch bench tokens``: visual tokens one answer feeds the language model
(the arithmetic is :mod:`workers.bench.tokens`)."""

from __future__ import annotations

import click

from pipeline.roi import check_alpha
from workers.bench._table import emit_json, print_table
from workers.bench.tokens import settings
from workers.cli.commands.bench._options import bench_perception_option


@click.command("tokens")
@bench_perception_option("--k-prompt", type=click.IntRange(0), default=3,
                         help="Prompt-selected frames.")
@bench_perception_option("--k-uniform", type=click.IntRange(0), default=3, help="Uniform frames.")
@bench_perception_option("--alpha", type=float, default=0.6, help="RoI area fraction.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(k_prompt: int, k_uniform: int, alpha: float, as_json: bool) -> None:
    """Visual tokens per answer: default vs uniform frames without RoI vs SlowFast."""
    check_alpha(alpha)
    result = settings(k_prompt, k_uniform, alpha)
    if as_json:
        emit_json(result)
        return
    ar = result["arithmetic"]
    print_table(
        f"visual tokens per answer ({result['grid']})",
        ["setting", "tokens", "arithmetic"],
        [["default: prompt+uniform frames, RoI", result["default"], ar["default"]],
         ["uniform frames, no RoI", result["uniform"], ar["uniform"]],
         ["SlowFast-LLaVA", result["slowfast"], ar["slowfast"]],
         ["IG-VLM (reported)", result["ig_vlm"], "6 frames × 24×24 = 6 × 576"]],
        [f"default = {result['default_vs_uniform']:.0%} of uniform, "
         f"{result['default_vs_slowfast']:.0%} of SlowFast-LLaVA"],
    )

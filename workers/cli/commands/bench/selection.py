"""``feedwatch bench selection``: recall of prompt vs uniform frame selection and RoI
hit rates on fresh scenes (the measuring is :mod:`workers.bench.selection`)."""

from __future__ import annotations

import json
from typing import Any

import click

from pipeline.roi import DEFAULT_ESTIMATOR, ESTIMATORS
from workers.bench.selection import MAX_VISIBLE, run_bench
from workers.cli.commands.bench._options import bench_option, bench_perception_option


@click.command("selection")
@bench_perception_option("--clip", "clip_spec", default="shapes-demo", help="CLIP spec.")
@bench_option("--scenes", type=click.IntRange(1), default=20, help="Scenes (windows).")
@bench_option("--seed", type=int, default=0, help="Seed of the fresh scenes.")
@bench_option("--level", type=click.Choice(["easy", "hard"]), default="easy",
              help="hard: distractors share colour or shape.")
@bench_option("--estimator", type=click.Choice([*ESTIMATORS, "all"]), default=DEFAULT_ESTIMATOR,
              help="RoI centre estimator.")
@bench_option("--k", type=click.IntRange(1), default=6, help="Frames selected per window.")
@bench_option("--window", type=click.IntRange(10), default=30, help="Frames per window at 1 fps.")
@bench_perception_option("--alpha", type=float, default=0.6, help="RoI area fraction.")
@bench_perception_option("--device", default="auto", help="auto|cpu|cuda.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(clip_spec: str, scenes: int, seed: int, level: str, estimator: str, k: int,
            window: int, alpha: float, device: str, as_json: bool) -> None:
    """Recall of prompt vs uniform frame selection and RoI hit rates on fresh scenes."""
    from rich.console import Console
    from rich.progress import Progress

    from pipeline.models.clip_encoder import ClipEncoder
    from pipeline.roi import check_alpha

    if int(MAX_VISIBLE * window) < k:
        raise click.BadParameter(f"window {window} too short for k={k} at ≤30% visibility")
    check_alpha(alpha)
    encoder = ClipEncoder.from_spec(clip_spec, device)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"bench selection ({level})", total=scenes)
        result = run_bench(encoder, scenes=scenes, seed=seed, level=level, estimator=estimator,
                           k=k, window=window, alpha=alpha,
                           progress=lambda i, n: bar.update(task, completed=i))
    if as_json:
        click.echo(json.dumps(result))
    else:
        _print_table(result)


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"selection bench — {result['level']}, {result['scenes']} scenes")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if not isinstance(value, dict | list):
            table.add_row(key, str(value))
    for name, figs in result.get("estimators", {}).items():
        table.add_row(f"{name}: hit / off-centre",
                      f"{figs['roi_hit_rate']} / {figs['roi_hit_offcentre']}")
    table.add_row("tokens_per_answer", json.dumps(result["tokens_per_answer"]))
    Console().print(table)

"""``feedwatch bench answers``: how often each ``clip`` mode agrees with the truth.

Scenes come from :mod:`pipeline.scenes.watch`; the evaluation is in
:mod:`workers.bench._answers_run`. Seeds 1000–1999 are the tuning range (the
adaptive defaults and the shipped ``adaptive_floor``/``adaptive_sure`` were chosen
there); every other seed is for reporting.
"""

from __future__ import annotations

from typing import Any

import click

from pipeline.scenes import BACKGROUNDS
from workers.bench._answers_run import DEFAULT_MODE, MODES, Setup, run_bench
from workers.bench._table import emit_json, print_table, progress_bar
from workers.cli.options import env_option

TUNING_SEEDS = range(1000, 2000)


def _backgrounds(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in BACKGROUNDS]
    if bad or not names:
        raise click.BadParameter(
            f"{bad[0] if bad else value!r} is not a background; use {','.join(BACKGROUNDS)}",
            param_hint="--backgrounds",
        )
    return names


@click.command("answers")
@env_option("--clip", "clip_spec", default="shapes-demo", show_default=True,
            env="FEEDWATCH_PERCEPTION_CLIP", help="CLIP spec.")
@env_option("--scenes", type=click.IntRange(1), default=30, show_default=True,
            env="FEEDWATCH_BENCH_SCENES",
            help="Scenes (cameras).")
@env_option("--seed", type=int, default=7, show_default=True, env="FEEDWATCH_BENCH_SEED",
            help="Seed of the scenes; 1000-1999 is the tuning range.")
@env_option("--level", type=click.Choice(["easy", "hard"]), default="hard", show_default=True,
            env="FEEDWATCH_BENCH_LEVEL", help="hard: distractors share colour or shape.")
@env_option("--backgrounds", default=",".join(BACKGROUNDS), show_default=True,
            env="FEEDWATCH_BENCH_BACKGROUNDS",
            help="Backgrounds, taken in turn by the scenes.")
@env_option("--corrections", type=click.IntRange(0), default=0, show_default=True,
            env="FEEDWATCH_BENCH_CORRECTIONS", help="Wrong answers per scene the user "
            "corrects (agreement before/after).")
@env_option("--second-look", "second_look", type=click.FloatRange(0, 64), default=None,
            env="FEEDWATCH_BENCH_SECOND_LOOK", help="The adaptive mode's second-look span "
            "in patch cells (default: the model's calibrated one; 0: off).")
@env_option("--device", default="auto", show_default=True, env="FEEDWATCH_PERCEPTION_DEVICE",
            help="auto|cpu|cuda.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(clip_spec: str, scenes: int, seed: int, level: str, backgrounds: str,
            corrections: int, second_look: float | None, device: str, as_json: bool) -> None:
    """Window agreement of the clip answerer's modes with the scenes' ground truth."""
    from pipeline.models.clip_encoder import ClipEncoder

    names = _backgrounds(backgrounds)
    encoder = ClipEncoder.from_spec(clip_spec, device)
    if seed in TUNING_SEEDS:
        click.echo(f"note: seed {seed} is in the tuning range {TUNING_SEEDS.start}-"
                   f"{TUNING_SEEDS.stop - 1}; report figures from another seed", err=True)
    label = f"bench answers ({level})"
    with progress_bar() as progress:
        result = run_bench(encoder, scenes=scenes, seed=seed, backgrounds=names,
                           setup=Setup(level=level, corrections=corrections,
                                       second_look=second_look),
                           progress=lambda i, n: progress(label, i, n))
    if as_json:
        emit_json(result)
    else:
        _print_table(result)


def _print_table(result: dict[str, Any]) -> None:
    bgs = list(result["per_background"])
    rows = []
    for mode in MODES:
        figs = result["modes"][mode]
        rows.append([f"{mode} (default)" if mode == DEFAULT_MODE else mode, figs["agreement"],
                     *[figs["per_background"].get(b) for b in bgs], figs["windows"],
                     figs["calibrating_windows"]])
    notes = [f"default vs threshold mode: {result['vs_threshold']:+}"]
    if "corrections" in result:
        c = result["corrections"]
        notes.append(f"after {c['per_scene']} corrections per scene: {c['agreement_before']} "
                     f"-> {c['agreement_after']}")
    print_table(f"answers bench — {result['level']}, {result['scenes']} scenes, seed "
                f"{result['seed']}, {result['clip']}",
                ["mode", "agreement", *bgs, "windows", "calibrating"], rows, notes)


__all__ = ["command"]

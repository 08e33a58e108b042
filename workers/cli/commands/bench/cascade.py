"""``feedwatch bench cascade``: VLM calls per window, VLM alone against the CLIP-gated
cascade; the scenes and the three runs are :mod:`workers.bench.cascade`."""

from __future__ import annotations

from typing import Any

import click

from pipeline.errors import ConfigError
from workers.bench._cascade_run import seed_list
from workers.bench._table import emit_json, hardware_line, print_table, progress_bar
from workers.bench.cascade import measure, modes, summary
from workers.cli.commands.bench._options import bench_option, bench_perception_option, finite


@click.command("cascade")
@bench_perception_option("--vlm", "vlm_spec", default="tiny-llava",
                   help="LLaVA directory, cached hub id, or tiny-llava (built offline).")
@bench_perception_option("--clip", "clip_spec", default="shapes-demo", help="CLIP spec.")
@bench_option("--seeds", default="100-103", help="Scene seeds (0-99 is the tuning range).")
@bench_option("--seconds", type=click.IntRange(8, 3600), default=40, help="Scene length.")
@bench_option("--visible", type=click.FloatRange(0.05, 0.9), default=0.25,
              callback=finite,
              help="Share of the scene the object is visible.")
@bench_option("--band", type=click.FloatRange(0, 2), default=None, show_default=False,
              callback=finite,
              help="A fixed-threshold CLIP stage's band below its threshold, in cosine "
                   "(default: the answerer's).")
@bench_option("--band-spreads", type=click.FloatRange(0, 10), default=None,
              callback=finite,
              show_default=False,
              help="The adaptive CLIP stage's band in its tracker's spreads (default: the "
                   "answerer's; 0: the cosine band instead).")
@bench_option("--reuse-distance", type=click.FloatRange(0, 2), default=None, show_default=False,
              callback=finite,
              help="Cascade reuse cosine distance (default: the answerer's).")
@bench_perception_option("--device", default="auto", help="auto|cpu|cuda.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(
    vlm_spec: str,
    clip_spec: str,
    seeds: str,
    seconds: int,
    visible: float,
    band: float | None,
    band_spreads: float | None,
    reuse_distance: float | None,
    device: str,
    as_json: bool,
) -> None:
    """VLM calls per window: the VLM on every window vs the CLIP-gated cascade."""
    try:
        seed_values = seed_list(seeds)
    except ConfigError as exc:
        raise click.BadParameter(f"{seeds!r}: {exc.allowed}", param_hint="--seeds") from None
    from pipeline.answerers.vlm import load_adapter
    from pipeline.models.clip_encoder import ClipEncoder

    encoder = ClipEncoder.from_spec(clip_spec, device)
    adapter = load_adapter(vlm_spec, device)
    tuned = {
        k: v for k, v in {"band": band, "band_spreads": band_spreads,
                          "reuse_distance": reuse_distance}.items() if v is not None
    }
    with progress_bar() as progress:
        results, scenes = measure(encoder, adapter, vlm_spec, seed_values, float(seconds),
                                  visible, modes(device, tuned), progress)
    out = summary(results, scenes, vlm_spec, clip_spec)
    if as_json:
        emit_json(out)
    else:
        _print(out, results, len(scenes))


def _print(out: dict[str, Any], results: dict[str, dict[str, Any]], scenes: int) -> None:
    print_table(
        f"VLM calls per window ({scenes} scenes, object visible "
        f"{out['visible_share']:.0%} of frames)",
        ["mode", "windows", "VLM calls", "per window", "decided by CLIP", "decided by VLM"],
        [
            [
                k,
                r["windows"],
                r["vlm_calls"],
                r["vlm_calls_per_window"],
                r["decided_by"]["clip"],
                r["decided_by"]["vlm"],
            ]
            for k, r in results.items()
        ],
        [
            f"cascade = {out['cascade_vs_vlm']:.0%} of the VLM calls; gate recall on windows "
            f"showing the object {out['gate_recall']}, negative windows let through "
            f"{out['gate_negatives_passed']}",
            hardware_line(out["hardware"]),
        ],
    )

"""``feedwatch bench capacity``: how many 1-fps cameras this machine keeps up with
(the search is :mod:`workers.bench.capacity`)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.scenes.builders import MAX_DURATION_S
from workers.bench._table import emit_json, hardware_line, print_table, progress_bar
from workers.bench.capacity import measure, plot
from workers.cli.commands.bench._options import finite, model_run_options
from workers.cli.options import env_option, perception_option


@click.command("capacity")
@perception_option("--clip", "clip_spec", default="ViT-B-32", show_default=True,
            help="CLIP spec.")
@env_option("--max-cameras", type=click.IntRange(1), default=64, show_default=True,
            env="FEEDWATCH_BENCH_MAX_CAMERAS", help="Upper end of the search.")
@env_option("--start", type=click.IntRange(1), default=1, show_default=True,
            env="FEEDWATCH_BENCH_START", help="First N of the doubling.")
@env_option("--seconds", type=click.FloatRange(2.0), default=10.0, show_default=True,
            callback=finite, env="FEEDWATCH_BENCH_SECONDS",
            help="Video seconds per camera per trial.")
@env_option("--retries", type=click.IntRange(0), default=1, show_default=True,
            env="FEEDWATCH_BENCH_RETRIES", help="Re-runs of a trial that falls behind "
            "(best counts).")
@model_run_options("Write the search's trials as a PNG.")
def command(clip_spec: str, max_cameras: int, start: int, seconds: float, retries: int,
            device: str, precision: str, as_json: bool, plot_path: Path | None) -> None:
    """Largest number of 1-fps cameras processed in real time, found by search."""
    from pipeline.models.clip_encoder import ClipEncoder

    if seconds > MAX_DURATION_S:  # the scene generator's limit, checked before the model
        raise click.BadParameter(f"{seconds:g}: at most {MAX_DURATION_S:g} s",
                                 param_hint="--seconds")
    encoder = ClipEncoder.from_spec(clip_spec, device, precision=precision)
    setup = {"clip": clip_spec, "precision": precision, "seconds": seconds,
             "max_cameras": max_cameras, "start": start, "retries": retries}
    with progress_bar() as progress:
        result, trials = measure(encoder, setup, progress)
    cameras, hw = result["cameras"], result["hardware"]
    if plot_path:
        result["plot"] = str(plot(trials, cameras, plot_path,
                                  f"capacity: CLIP {clip_spec} {precision}, 1 fps, "
                                  "1 question/camera",
                                  hardware_line(hw)))
    if as_json:
        emit_json(result)
        return
    print_table(
        f"capacity: CLIP {clip_spec} {precision}, 1 fps sampling, {seconds:g} s per camera "
        "per trial",
        ["N", "wall s", "camera-s / wall-s", "keeps up", "frames", "answers", "passes/frame"],
        [[t.cameras, t.wall_s, t.rate, "yes" if t.keeps_up else "no", t.frames, t.answers,
          t.vision_passes_per_frame] for t in trials],
        [f"[bold]{cameras} cameras[/bold] at 1 fps in real time (target ≥ {result['target']}); "
         f"decode path: {result['decode_path']}",
         f"encoder ceiling {result['encoder_ceiling_fps']:.1f} frames/s (batch "
         f"{result['encoder_ceiling_batch']}) on the same frames around the deciding trial: "
         f"capacity = {result['capacity_vs_ceiling']} of it; measured after every trial: "
         f"{result['ceiling']['min']}–{result['ceiling']['max']} frames/s (spread "
         f"{result['ceiling']['spread']}); trials at or above it ran at "
         f"{result['saturated_share_of_ceiling']} of the ceiling around them (median)",
         hardware_line(hw)],
    )

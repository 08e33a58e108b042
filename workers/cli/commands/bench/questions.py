"""``feedwatch bench questions``: the cost of Q standing questions on one window
(the measuring is :mod:`workers.bench.questions`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from workers.bench import _questions_view as view
from workers.bench._table import emit_json, hardware, hardware_line, progress_bar
from workers.bench.questions import Answering, measure, window_frames
from workers.cli.commands.bench._options import int_list, model_run_options
from workers.cli.options import (
    AnswererChoice,
    answerer_type,
    env_option,
    perception_option,
)


@click.command("questions")
@perception_option("--clip", "clip_spec", default="ViT-B-32", show_default=True,
            help="CLIP spec.")
@env_option("--frames", type=click.IntRange(2), default=60, show_default=True,
            env="FEEDWATCH_BENCH_FRAMES", help="Frames in the window (1 fps).")
@env_option("--qs", default="1,10,100,1000", show_default=True, env="FEEDWATCH_BENCH_QS",
            help="Question counts.")
@env_option("--reference-max-q", type=click.IntRange(0), default=10, show_default=True,
            env="FEEDWATCH_BENCH_REFERENCE_MAX_Q", help="Run the reference for real up "
            "to this Q, extrapolate beyond.")
@env_option("--repeat", type=click.IntRange(1), default=2, show_default=True,
            env="FEEDWATCH_BENCH_REPEAT", help="Best of N interleaved product passes.")
@env_option("--answerer", type=AnswererChoice(), default="clip",
            show_default=True, env="FEEDWATCH_BENCH_ANSWERER",
            help="Who answers: clip, vlm, cascade or an installed one (those using a VLM need "
            "--vlm).")
@perception_option("--vlm", "vlm_spec", default="",
                   help="LLaVA directory, cached hub id, or tiny-llava (built offline).")
@model_run_options("Write seconds per window against Q as a PNG.")
def command(clip_spec: str, frames: int, qs: str, reference_max_q: int, repeat: int,
            answerer: str, vlm_spec: str, device: str, precision: str, as_json: bool,
            plot_path: Path | None) -> None:
    """Cost of Q standing questions on one window: encode once vs re-encode per question."""
    from pipeline.models.clip_encoder import ClipEncoder

    counts = int_list("--qs", qs)
    if answerer_type(answerer).uses_vlm and not vlm_spec.strip():
        raise click.BadParameter(f"--answerer {answerer} needs a VLM spec (a LLaVA directory, a "
                                 "cached hub id, or tiny-llava)", param_hint="--vlm")
    answering = Answering(answerer, vlm_spec.strip(), device)
    encoder = ClipEncoder.from_spec(clip_spec, device, precision=precision)
    images = window_frames(frames)
    with progress_bar() as progress:
        product, reference, text_s = measure(encoder, images, counts, reference_max_q, repeat,
                                             progress, answering)
    hw = hardware()
    key_q = 100 if 100 in counts else max(counts)
    result: dict[str, Any] = {
        **view.summary(product, reference, key_q), "clip": clip_spec, "precision": precision,
        "frames": frames, "qs": counts, "reference_max_q": reference_max_q,
        "answerer": answerer, "vlm": vlm_spec.strip() or None,
        "text_encode_s": text_s,
        "text_ms_per_question": 1000 * text_s / max(counts), "hardware": hw,
        "rows": [asdict(r) for r in product], "reference_rows": [asdict(r) for r in reference],
    }
    if plot_path:
        result["plot"] = str(view.plot(product, reference, plot_path,
                                  f"{frames}-frame window, CLIP {clip_spec} {precision}",
                                  hardware_line(hw),
                                  frames))
    if as_json:
        emit_json(result)
    else:
        view.print_result(result, product, reference)

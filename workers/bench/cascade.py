"""``feedwatch bench cascade``: VLM calls per window, VLM alone against the CLIP-gated cascade.

Scenes: ``--scenes`` scripted synthetic scenes of ``--seconds`` s; the asked object
(a colour–shape picked by the seed) is visible in two stretches that together cover
``--visible`` of the scene (a quarter by default) with one distractor around.
Frames are sampled at 1 fps and encoded once by the product encoder; the buffered
frames are shared by every window, as in a live run. One standing question
("is there {object}?") is evaluated every second over a 4-s window by the product
engine, three times over the same frames:

* ``vlm``: the ``vlm`` answerer on every window (the baseline: one call per window);
* ``cascade_no_reuse``: the ``cascade`` answerer with verdict reuse switched off
  (what the CLIP gate alone saves);
* ``cascade``: the ``cascade`` answerer as configured (gate + reuse on unchanged frames).

VLM calls are the adapter's own counter (prompts generated). Against the scene's
truth (the object visible in some frame of the window) the bench also reports the
gate's recall (positive windows that reached the VLM), how many negative windows
it let through, and how many reused verdicts came from a window whose truth differs
(``reused_truth_changed``: what reuse could get wrong). With ``tiny-llava`` (random
weights) the VLM's yes/no means nothing; the calls and who decided do. Seeds 0–99
are the tuning range (the cascade's defaults were chosen there); the default seeds
start at 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from pipeline.engine import Engine
from pipeline.perceiver import AnswererCache
from pipeline.perception import SelectionConfig
from workers.bench._cascade_run import (
    EVERY_S,
    WINDOW_S,
    Scene,
    gate_figures,
    make_scene,
    run_mode,
    seed_list,
)
from workers.bench._options import bench_option, perception_option
from workers.bench._table import emit_json, hardware, hardware_line, print_table, progress_bar


@click.command("cascade")
@perception_option("--vlm", "vlm_spec", default="tiny-llava",
                   help="LLaVA directory, cached hub id, or tiny-llava (built offline).")
@perception_option("--clip", "clip_spec", default="shapes-demo", help="CLIP spec.")
@bench_option("--seeds", default="100-103", help="Scene seeds (0-99 is the tuning range).")
@bench_option("--seconds", type=click.IntRange(8, 3600), default=40, help="Scene length.")
@bench_option("--visible", type=click.FloatRange(0.05, 0.9), default=0.25,
              help="Share of the scene the object is visible.")
@bench_option("--band", type=click.FloatRange(0, 2), default=None, show_default=False,
              help="Cascade band below the CLIP threshold (default: the answerer's).")
@bench_option("--reuse-distance", type=click.FloatRange(0, 2), default=None, show_default=False,
              help="Cascade reuse cosine distance (default: the answerer's).")
@perception_option("--device", default="auto", help="auto|cpu|cuda.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(
    vlm_spec: str,
    clip_spec: str,
    seeds: str,
    seconds: int,
    visible: float,
    band: float | None,
    reuse_distance: float | None,
    device: str,
    as_json: bool,
) -> None:
    """VLM calls per window: the VLM on every window vs the CLIP-gated cascade."""
    from pipeline.answerers.vlm import load_adapter
    from pipeline.models.clip_encoder import ClipEncoder

    encoder = ClipEncoder.from_spec(clip_spec, device)
    adapter = load_adapter(vlm_spec, device)
    engine = Engine(encoder, AnswererCache(encoder, vlm_spec), SelectionConfig(), evidence=False)
    tuned = {
        k: v for k, v in {"band": band, "reuse_distance": reuse_distance}.items() if v is not None
    }
    modes: dict[str, tuple[str, dict[str, Any]]] = {
        "vlm": ("vlm", {"device": device}),
        "cascade_no_reuse": (
            "cascade",
            {"vlm": {"device": device}, **tuned, "reuse_distance": 0.0, "reuse_max_age": 0.0},
        ),
        "cascade": ("cascade", {"vlm": {"device": device}, **tuned}),
    }
    with progress_bar() as progress:
        scenes = []
        for i, seed in enumerate(seed_list(seeds)):
            scenes.append(make_scene(encoder, seed, float(seconds), visible))
            progress("scenes (encoded once)", i + 1, len(seed_list(seeds)))
        results = {}
        for i, (name, (answerer, settings)) in enumerate(modes.items()):
            results[name] = run_mode(engine, adapter, scenes, answerer, settings)
            progress("modes", i + 1, len(modes))
    emit(results, scenes, vlm_spec, clip_spec, as_json)


def emit(
    results: dict[str, dict[str, Any]],
    scenes: Sequence[Scene],
    vlm_spec: str,
    clip_spec: str,
    as_json: bool,
) -> None:
    """The one JSON object, or the table."""
    shown = [v for s in scenes for v in s.visible]
    out: dict[str, Any] = {
        "vlm_calls_per_window": {k: r["vlm_calls_per_window"] for k, r in results.items()},
        "decided_by": results["cascade"]["decided_by"],
        "cascade_vs_vlm": round(
            results["cascade"]["vlm_calls"] / max(results["vlm"]["vlm_calls"], 1), 4
        ),
        **gate_figures(results["cascade"]["gate"]),
        "reused_truth_changed": results["cascade"]["reused_truth_changed"],
        "visible_share": round(sum(shown) / len(shown), 4),
        "seeds": [s.seed for s in scenes],
        "vlm": vlm_spec,
        "clip": clip_spec,
        "window_s": WINDOW_S,
        "every_s": EVERY_S,
        "modes": results,
        "hardware": hardware(),
    }
    if as_json:
        emit_json(out)
        return
    print_table(
        f"VLM calls per window ({len(scenes)} scenes, object visible "
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


__all__ = ["command"]

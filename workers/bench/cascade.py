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
)
from workers.bench._table import Progress, hardware


def modes(device: str, tuned: dict[str, float]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The three runs over the same frames: answerer type and its settings."""
    return {
        "vlm": ("vlm", {"device": device}),
        "cascade_no_reuse": (
            "cascade",
            {"vlm": {"device": device}, **tuned, "reuse_distance": 0.0, "reuse_max_age": 0.0},
        ),
        "cascade": ("cascade", {"vlm": {"device": device}, **tuned}),
    }


def measure(encoder: Any, adapter: Any, vlm_spec: str, seeds: list[int], seconds: float,
            visible: float, runs: dict[str, tuple[str, dict[str, Any]]],
            progress: Progress) -> tuple[dict[str, dict[str, Any]], list[Scene]]:
    """Every mode's figures over the same scenes (each scene encoded once)."""
    engine = Engine(encoder, AnswererCache(encoder, vlm_spec), SelectionConfig(), evidence=False)
    scenes = []
    for i, seed in enumerate(seeds):
        scenes.append(make_scene(encoder, seed, seconds, visible))
        progress("scenes (encoded once)", i + 1, len(seeds))
    results = {}
    for i, (name, (answerer, settings)) in enumerate(runs.items()):
        results[name] = run_mode(engine, adapter, scenes, answerer, settings)
        progress("modes", i + 1, len(runs))
    return results, scenes


def summary(results: dict[str, dict[str, Any]], scenes: Sequence[Scene], vlm_spec: str,
            clip_spec: str) -> dict[str, Any]:
    """The one JSON object the bench reports."""
    shown = [v for s in scenes for v in s.visible]
    return {
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


__all__ = ["measure", "modes", "summary"]
